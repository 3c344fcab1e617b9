// The consistency check: do the profile chart's objects give every component what Direktiv's
// values make it mount? For each Secret mount of the chart model: a Certificate produces it in
// the namespace of the mount, with the SAN of the name its client dials, the usages Go demands
// and a CA-issued ca.crt where ca.crt is read, trusted by the peer. Then each path's TLS state
// under the values against the expected table, and the Knative side. Each finding names the
// erratum it corresponds to (when it does): as-documented mode must show the page's errata,
// corrected mode none.
import type { CertSpec, IssuerSpec } from '../../../scenarios/certificates.ts';
import {
  direktivMounts,
  effectiveValues,
  type PathTls,
  pathTls,
  type SecretMount,
} from '../../../scenarios/direktiv-chart-model.ts';
import { direktivValues, type Values } from '../../../scenarios/direktiv-values.ts';
import { ERRATA, type ErratumKind, type Mode } from '../../../scenarios/errata.ts';
import type { ExpectedState } from '../../../scenarios/expected.ts';
import {
  CONTOUR_INTERNAL_NAMESPACE,
  type KnativeState,
  knativeSettings,
  knativeState,
} from '../../../scenarios/knative-settings.ts';
import { PATH_IDS, type PathId } from '../../../scenarios/paths.ts';
import type { Scenario } from '../../../scenarios/scenario.ts';
import { readCertSpecs } from './cert-specs.ts';
import { CERT_MANAGER_NAMESPACE, type K8sObject } from './render.ts';

export type FindingCheck =
  | 'missing-secret'
  | 'san'
  | 'usage'
  | 'ca'
  | 'trust'
  | 'issuer'
  | 'path-state'
  | 'knative'
  | 'delegation';

export interface Finding {
  check: FindingCheck;
  /** The erratum of scenarios/errata.ts this failure is, or null when it is none of them. */
  erratum: number | null;
  path: PathId | null;
  /** The object or value concerned, e.g. `Certificate default/direktiv-cert-fn`. */
  object: string;
  message: string;
}

export interface ErratumNote {
  erratum: number;
  kind: ErratumKind;
  title: string;
  how: string;
}

export interface ConsistencyReport {
  scenario: string;
  mode: Mode;
  findings: Finding[];
  /** Declared deviations reported, not failed (erratum 7 without --strict in corrected mode). */
  accepted: ErratumNote[];
  /** Environment and harness errata: applied (or covered) in both modes. */
  applied: ErratumNote[];
  checked: { mounts: number; paths: number; certificates: number };
}

export interface ConsistencyInput {
  scenario: Scenario;
  /** The profile chart's rendering (renderProfile). */
  objects: readonly K8sObject[];
  /** Direktiv's values; default direktivValues(scenario). */
  values?: Values;
  /** The Knative side; default the scenario's knativeSettings applied to the chart defaults. */
  knative?: KnativeState;
  certManagerNamespace?: string;
}

/** Go crypto/x509 host matching: case-insensitive, `*` only as the whole left-most label. */
export function sanMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '').split('.');
  const h = host.toLowerCase().replace(/\.$/, '').split('.');
  if (p.length !== h.length) return false;
  return p.every((label, i) => (i === 0 && label === '*' ? (h[i] ?? '') !== '' : label === h[i]));
}

const EKUS = ['server auth', 'client auth'] as const;
const ekus = (c: CertSpec) => c.usages.filter((u) => (EKUS as readonly string[]).includes(u));
const certRef = (c: CertSpec) => `Certificate ${c.namespace}/${c.name}`;
const secretRef = (ns: string, name: string) => `Secret ${ns}/${name}`;

function describe(t: PathTls): string {
  if (!t.serverTls && !t.clientTls) return 'plaintext';
  if (t.serverTls !== t.clientTls)
    return t.serverTls
      ? 'TLS on the server, plaintext from the client'
      : 'TLS from the client, no TLS on the server';
  return `${t.mtls ? 'mTLS' : 'TLS'}${t.plainOpen ? ' with the plain port still open' : ''}`;
}

function meets(state: ExpectedState, t: PathTls): boolean {
  switch (state) {
    case 'plain':
      return !t.serverTls && !t.clientTls;
    case 'tls':
      return t.serverTls && t.clientTls && !t.mtls;
    case 'mtls':
      return t.serverTls && t.clientTls && t.mtls;
    case 'https':
      return t.serverTls && t.clientTls && !t.plainOpen;
  }
}

export function checkConsistency(input: ConsistencyInput): ConsistencyReport {
  const { scenario } = input;
  const values = input.values ?? direktivValues(scenario);
  const knative = input.knative ?? knativeState(knativeSettings(scenario));
  const cmNs = input.certManagerNamespace ?? CERT_MANAGER_NAMESPACE;
  const { issuers, certs } = readCertSpecs(input.objects);
  const eff = effectiveValues(values);
  const N = scenario.namespace;
  const S = eff.serviceNamespace;
  const findings: Finding[] = [];
  const find = (f: Finding) => findings.push(f);

  // --- the issuer chain -------------------------------------------------------------------
  const issuerOf = (c: CertSpec): IssuerSpec | undefined =>
    issuers.find(
      (i) =>
        i.kind === c.issuer.kind &&
        i.name === c.issuer.name &&
        (i.kind === 'ClusterIssuer' || i.namespace === c.namespace),
    );
  // A ClusterIssuer reads its CA Secret from cert-manager's cluster resource namespace.
  const caCertOf = (i: IssuerSpec): CertSpec | undefined =>
    certs.find((c) => c.isCA && c.secretName === i.caSecret && c.namespace === (i.namespace ?? cmNs));
  for (const c of certs) {
    const i = issuerOf(c);
    if (!i) {
      find({
        check: 'issuer',
        erratum: null,
        path: null,
        object: certRef(c),
        message: `issuer ${c.issuer.kind} ${c.issuer.name} is not rendered: the certificate is never issued`,
      });
    } else if (i.type === 'ca' && !caCertOf(i)) {
      find({
        check: 'issuer',
        erratum: null,
        path: null,
        object: `${i.kind} ${i.name}`,
        message: `CA issuer reads Secret ${i.namespace ?? cmNs}/${i.caSecret}, which no CA Certificate produces`,
      });
    }
    if (!c.isCA && c.dnsNames.length === 0) {
      find({
        check: 'issuer',
        erratum: null,
        path: null,
        object: certRef(c),
        message: 'a leaf certificate without dnsNames',
      });
    }
  }
  const id = (c: CertSpec) => `${c.namespace}/${c.name}`;
  /** The certificates a verifier must trust to accept `c`: itself, then its issuing CAs. */
  const chain = (c: CertSpec, seen = new Set<string>()): string[] => {
    if (seen.has(id(c))) return [id(c)];
    seen.add(id(c));
    const i = issuerOf(c);
    const ca = i?.type === 'ca' ? caCertOf(i) : undefined;
    return [id(c), ...(ca ? chain(ca, seen) : [])];
  };
  /** What the Secret's ca.crt holds: the issuing CA; for a self-signed certificate, itself. */
  const caCrt = (c: CertSpec): string | undefined => {
    const i = issuerOf(c);
    if (!i) return undefined;
    if (i.type === 'selfSigned') return id(c);
    const ca = caCertOf(i);
    return ca ? id(ca) : undefined;
  };
  const selfSigned = (c: CertSpec) => issuerOf(c)?.type === 'selfSigned';

  // --- every mount ------------------------------------------------------------------------
  const mounts = direktivMounts(values, { namespace: N, knative });
  const producer = (m: SecretMount) =>
    certs.find((c) => c.namespace === m.namespace && c.secretName === m.secretName);
  const who = (m: SecretMount) => `${m.component} (${m.workload}, ${m.value})`;

  for (const m of mounts) {
    const c = producer(m);
    if (!c) {
      let erratum: number | null = null;
      if (m.role === 'ca') erratum = 3;
      else if (m.namespace === S && m.value === 'flow.certificates.flow') erratum = 4;
      else if (m.path === 'engine->pod') erratum = 5;
      const where = m.mountPath ? ` at ${m.mountPath}` : '';
      find({
        check: 'missing-secret',
        erratum,
        path: m.path,
        object: secretRef(m.namespace, m.secretName),
        message: `${who(m)} mounts Secret ${m.secretName}${where} in ${m.namespace} as ${m.role}, but no Certificate produces it there${m.mountPath ? ': the pod waits in ContainerCreating' : ''}`,
      });
      continue;
    }
    if (m.role === 'server') {
      for (const name of m.dialNames) {
        if (c.dnsNames.some((p) => sanMatches(p, name))) continue;
        const erratum = m.path === 'engine->pod' ? 5 : m.path === 'engine->knative' ? 6 : null;
        const wrongNs = c.dnsNames.some((d) => /\.default(\.|$)/.test(d)) && N !== 'default';
        find({
          check: 'san',
          erratum,
          path: m.path,
          object: certRef(c),
          message: `${m.component} serves ${c.secretName} to clients that dial ${name}, but its SANs are ${c.dnsNames.join(', ') || '(none)'}${wrongNs ? ` (written for namespace default; Direktiv runs in ${N})` : ''}`,
        });
      }
    }
    const e = ekus(c);
    const lacking = [
      ...(m.needs.serverAuth && e.length && !e.includes('server auth') ? ['server auth'] : []),
      ...(m.needs.clientAuth && e.length && !e.includes('client auth') ? ['client auth'] : []),
    ];
    if (lacking.length) {
      find({
        check: 'usage',
        erratum: m.path === 'engine->pod' ? 5 : null,
        path: m.path,
        object: certRef(c),
        message: `${who(m)} uses ${c.secretName} as ${m.role}; its extended key usages (${e.join(', ')}) lack ${lacking.join(', ')}, so Go's verification rejects it`,
      });
    }
    if (m.reads.caCrt && selfSigned(c)) {
      find({
        check: 'ca',
        erratum: 10,
        path: m.path,
        object: certRef(c),
        message: `${who(m)} reads ca.crt of ${c.secretName}, but a self-signed issuer puts the certificate itself there, not a CA`,
      });
    }
  }

  // --- trust between peers: the ca.crt a verifier reads must anchor the peer's chain --------
  const servers = mounts.filter((m) => m.role === 'server');
  for (const m of mounts) {
    if (m.role === 'server') continue;
    const mine = producer(m);
    if (!mine) continue;
    const peers = servers.filter((s) =>
      m.role === 'ca' ? s.path === m.path : s.dialNames.some((d) => m.dialNames.includes(d)),
    );
    for (const s of peers) {
      const theirs = producer(s);
      if (!theirs) continue;
      const tag = selfSigned(mine) || selfSigned(theirs) ? 10 : null;
      const anchor = caCrt(mine);
      if (!anchor || !chain(theirs).includes(anchor)) {
        find({
          check: 'trust',
          erratum: tag,
          path: m.path ?? s.path,
          object: certRef(mine),
          message: `${who(m)} verifies ${s.component}'s ${theirs.secretName} with the ca.crt of ${mine.namespace}/${mine.secretName}, which does not anchor it`,
        });
      }
      // mTLS: the server verifies the client's certificate with its own ca.crt.
      if (m.role === 'client' && m.reads.keyPair) {
        const back = caCrt(theirs);
        if (!back || !chain(mine).includes(back)) {
          find({
            check: 'trust',
            erratum: tag,
            path: m.path ?? s.path,
            object: certRef(theirs),
            message: `${s.component} verifies the client certificate ${mine.namespace}/${mine.secretName} of ${m.component} with the ca.crt of ${theirs.namespace}/${theirs.secretName}, which does not anchor it`,
          });
        }
      }
    }
  }

  // --- each path's TLS state against the expected table ------------------------------------
  const accepted: ErratumNote[] = [];
  const note = (n: number, how: string): ErratumNote => {
    const e = ERRATA.find((x) => x.id === n);
    if (!e) throw new Error(`no erratum ${n}`);
    return { erratum: n, kind: e.kind, title: e.title, how };
  };
  const tls = pathTls(values, { namespace: N, knative });
  for (const pid of PATH_IDS) {
    const exp = scenario.expected[pid];
    const got = tls[pid];
    if (!meets(exp.state, got)) {
      let erratum: number | null = null;
      if ((pid === 'api->functions' || pid === 'engine->functions') && eff.ignored.length) erratum = 1;
      if (pid === 'engine->knative' && exp.state === 'https' && got.plainOpen) erratum = 7;
      find({
        check: 'path-state',
        erratum,
        path: pid,
        object: erratum === 1 ? `values ${eff.ignored.join(', ')}` : 'values',
        message: `${pid} must be ${exp.state}; the values give ${describe(got)}${erratum === 1 ? ` (chart v0.4.1 reads functions.certificate/functions.mtls, not ${eff.ignored.join(', ')})` : ''}`,
      });
    } else if (pid === 'engine->knative' && exp.state === 'tls' && got.plainOpen) {
      // Erratum 7: the expected table declares the open plain port; the page never mentions it.
      const how = `config-network httpProtocol is ${knative.httpProtocol}: plain HTTP stays open on ${CONTOUR_INTERNAL_NAMESPACE}/envoy:80 beside HTTPS`;
      if (scenario.mode === 'as-documented') {
        find({
          check: 'knative',
          erratum: 7,
          path: pid,
          object: 'ConfigMap knative-serving-knative/config-network',
          message: `${how}; the page does not say so`,
        });
      } else accepted.push(note(7, `${how} (reported as a warning; --strict closes it)`));
    }
  }

  // --- the delegation the default TLS secret needs -----------------------------------------
  if (knative.defaultTlsSecret) {
    const [ns, name] = knative.defaultTlsSecret.split('/');
    const delegated = input.objects.some(
      (o) =>
        o.kind === 'TLSCertificateDelegation' &&
        o.metadata.namespace === ns &&
        ((o.spec?.delegations ?? []) as { secretName: string; targetNamespaces: string[] }[]).some(
          (d) =>
            d.secretName === name && (d.targetNamespaces.includes('*') || d.targetNamespaces.includes(S)),
        ),
    );
    if (!delegated) {
      find({
        check: 'delegation',
        erratum: null,
        path: 'engine->knative',
        object: `TLSCertificateDelegation ${ns}/*`,
        message: `config-contour default-tls-secret names ${knative.defaultTlsSecret}, but no TLSCertificateDelegation lets ${S} use it: Contour ignores it on the Knative hosts`,
      });
    }
  }

  const applied = scenario.errata
    .filter((e) => e.kind === 'environment' || e.kind === 'harness')
    .map((e) => note(e.id, e.fix));

  // One physical mount can serve two paths (7777: sidecars and pods): report a failure once.
  const seen = new Set<string>();
  const unique = findings.filter((f) => {
    const key = `${f.check}|${f.object}|${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });

  return {
    scenario: scenario.name,
    mode: scenario.mode,
    findings: unique,
    accepted,
    applied,
    checked: { mounts: mounts.length, paths: PATH_IDS.length, certificates: certs.length },
  };
}

/** The distinct errata the findings name, ascending. */
export function findingErrata(report: ConsistencyReport): number[] {
  return [...new Set(report.findings.map((f) => f.erratum).filter((e): e is number => e !== null))].sort(
    (a, b) => a - b,
  );
}
