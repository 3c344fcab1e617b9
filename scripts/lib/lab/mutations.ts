// Planted flaws: each one changes ONE path's server the way a misconfiguration would, so the
// assertion engine must fail exactly that path. `--mutate <name>` or `--mutate <name>@<path-id>`.

import {
  isPathId,
  type PathExpectation,
  type PathId,
  type Scenario,
  UsageError,
} from '../../../scenarios/index.ts';
import { sanMatches } from '../chart/consistency.ts';
import type { LabPki, SecretData } from './pki.ts';
import type { ListenerConfig, TlsServerConfig } from './servers.ts';
import type { ListenerPlan, PathPlan } from './topology.ts';

export const MUTATION_NAMES = [
  'plaintext-server',
  'tls-where-plain',
  'foreign-ca',
  'missing-san',
  'expired',
  'client-cert-optional',
  'any-client-ca',
  'legacy-tls',
  'dual-port',
] as const;
export type MutationName = (typeof MUTATION_NAMES)[number];

export interface MutationInfo {
  name: MutationName;
  path: PathId;
  description: string;
}

interface MutationDef {
  description: string;
  /** Which expected states it can be planted on. */
  appliesTo: (e: PathExpectation) => boolean;
  /** Target when none is given: the first path in this order the scenario allows. */
  prefer: PathId[];
}

const TLS_STATES = (e: PathExpectation) => e.state !== 'plain';

export const MUTATIONS: Record<MutationName, MutationDef> = {
  'plaintext-server': {
    description: 'the server listens in plaintext where the profile expects TLS',
    appliesTo: TLS_STATES,
    prefer: ['api->engine', 'ingress->api', 'client->ingress'],
  },
  'tls-where-plain': {
    description: 'the server demands TLS where the profile expects plaintext (its plain clients break)',
    appliesTo: (e) => e.state === 'plain',
    prefer: ['engine->pod', 'engine->knative', 'api->engine', 'ingress->api', 'client->ingress'],
  },
  'foreign-ca': {
    description: 'the server certificate is issued by a CA the profile does not trust',
    appliesTo: TLS_STATES,
    prefer: ['engine->functions', 'ingress->ui', 'client->ingress'],
  },
  'missing-san': {
    description: 'the server certificate lacks the name the real client dials',
    appliesTo: TLS_STATES,
    prefer: ['sidecar->engine', 'ingress->api', 'client->ingress'],
  },
  expired: {
    description: 'the server certificate has expired',
    appliesTo: TLS_STATES,
    prefer: ['engine->pod', 'ingress->ui', 'client->ingress'],
  },
  'client-cert-optional': {
    description:
      'the server asks for a client certificate but accepts a client without one (VerifyClientCertIfGiven)',
    appliesTo: (e) => e.state === 'mtls',
    prefer: ['pod->engine', 'api->engine'],
  },
  'any-client-ca': {
    description: 'the server requires a client certificate but accepts any CA (RequireAnyClientCert)',
    appliesTo: (e) => e.state === 'mtls',
    prefer: ['api->functions', 'api->engine'],
  },
  'legacy-tls': {
    description: 'the server still accepts TLS 1.0 and 1.1',
    appliesTo: TLS_STATES,
    prefer: ['engine->knative', 'ingress->api', 'client->ingress'],
  },
  'dual-port': {
    description: 'the TLS port also serves plaintext',
    appliesTo: TLS_STATES,
    prefer: ['client->ingress', 'api->engine', 'ingress->api'],
  },
};

export function isMutationName(s: string): s is MutationName {
  return (MUTATION_NAMES as readonly string[]).includes(s);
}

/** The paths of a scenario a mutation can be planted on. */
export function applicablePaths(name: MutationName, scenario: Pick<Scenario, 'expected'>): PathId[] {
  const def = MUTATIONS[name];
  return (Object.keys(scenario.expected) as PathId[]).filter((p) => def.appliesTo(scenario.expected[p]));
}

/** Parses `<name>` or `<name>@<path-id>` against the scenario; bad input is a UsageError. */
export function resolveMutation(spec: string, scenario: Pick<Scenario, 'expected' | 'name'>): MutationInfo {
  const at = spec.indexOf('@');
  const name = at >= 0 ? spec.slice(0, at) : spec;
  const pathArg = at >= 0 ? spec.slice(at + 1) : undefined;
  if (!isMutationName(name)) {
    throw new UsageError(`unknown mutation '${name}'`, `valid mutations: ${MUTATION_NAMES.join(', ')}`);
  }
  const allowed = applicablePaths(name, scenario);
  if (pathArg !== undefined) {
    if (!isPathId(pathArg)) {
      throw new UsageError(
        `unknown path '${pathArg}' in --mutate`,
        `give <mutation>@<path-id>, e.g. ${name}@${MUTATIONS[name].prefer[0]}`,
      );
    }
    if (!allowed.includes(pathArg)) {
      throw new UsageError(
        `mutation ${name} does not apply to ${pathArg} in ${scenario.name} (expected ${scenario.expected[pathArg].state})`,
        allowed.length
          ? `paths it applies to here: ${allowed.join(', ')}`
          : 'pick a profile where it applies',
      );
    }
    return { name, path: pathArg, description: MUTATIONS[name].description };
  }
  const path = MUTATIONS[name].prefer.find((p) => allowed.includes(p)) ?? allowed[0];
  if (!path) {
    throw new UsageError(
      `mutation ${name} applies to no path of ${scenario.name}`,
      name === 'tls-where-plain'
        ? 'use a profile with plain paths, e.g. --profile plain'
        : 'use e.g. --profile full-mtls',
    );
  }
  return { name, path, description: MUTATIONS[name].description };
}

function tlsOf(l: ListenerPlan, m: MutationInfo): TlsServerConfig {
  if (!l.config?.tls) throw new Error(`mutation ${m.name}: ${m.path} has no TLS listener to plant it on`);
  return l.config.tls;
}

/** Where the original certificate came from, so a flawed copy has the same issuer. */
function sameIssuer(
  pki: LabPki,
  plan: PathPlan,
):
  | { ca: { namespace: string; secretName: string } }
  | { selfWithKeyOf: { namespace: string; secretName: string } } {
  const ref = plan.serverSecret;
  const issued = ref ? pki.issued(ref.namespace, ref.name) : undefined;
  if (!ref || !issued) throw new Error(`${plan.path}: the server has no issued certificate to copy`);
  const selfSigned = issued.secret['ca.crt'] === issued.secret['tls.crt'];
  return selfSigned
    ? { selfWithKeyOf: { namespace: ref.namespace, secretName: ref.name } }
    : { ca: { namespace: ref.namespace, secretName: ref.name } };
}

function withCert(t: TlsServerConfig, s: SecretData): TlsServerConfig {
  return { ...t, cert: s['tls.crt'], key: s['tls.key'] };
}

/** Plants the flaw into the plan of its path (before the listeners start). */
export async function applyMutation(plan: PathPlan, m: MutationInfo, pki: LabPki): Promise<void> {
  if (plan.path !== m.path) throw new Error(`mutation for ${m.path} applied to ${plan.path}`);
  const target: ListenerPlan = m.name === 'tls-where-plain' ? (plan.plain ?? plan.main) : plan.main;
  if (!target.config) throw new Error(`mutation ${m.name}: nothing listens on ${m.path} to plant it on`);
  const cfg: ListenerConfig = target.config;
  const spec = plan.serverSecret
    ? pki.issued(plan.serverSecret.namespace, plan.serverSecret.name)?.spec
    : undefined;
  const origNames = spec?.dnsNames ?? [plan.dialName];
  const origUsages = spec?.usages ?? ['server auth'];
  switch (m.name) {
    case 'plaintext-server':
      tlsOf(target, m);
      delete cfg.tls;
      return;
    case 'tls-where-plain': {
      // A valid certificate for the dialled name: the flaw is TLS itself, not the certificate.
      const s = await pki.leaf(
        `tls-where-plain:${m.path}`,
        { dnsNames: [plan.dialName], usages: ['server auth', 'client auth'] },
        pki.profileCa ? { ca: pki.profileCa } : 'self',
      );
      cfg.tls = {
        cert: s['tls.crt'],
        key: s['tls.key'],
        clientAuth: 'none',
        alpn: plan.protocol === 'grpc' ? ['h2'] : ['h2', 'http/1.1'],
      };
      return;
    }
    case 'foreign-ca': {
      const s = await pki.leaf(`foreign:${m.path}`, { dnsNames: origNames, usages: origUsages }, 'foreign');
      cfg.tls = withCert(tlsOf(target, m), s);
      return;
    }
    case 'missing-san': {
      let names = origNames.filter((n) => !sanMatches(n, plan.dialName));
      if (names.length === 0) names = ['not-the-dialled-name.invalid'];
      const s = await pki.leaf(
        `missing-san:${m.path}`,
        { dnsNames: names, usages: origUsages },
        sameIssuer(pki, plan),
      );
      cfg.tls = withCert(tlsOf(target, m), s);
      return;
    }
    case 'expired': {
      const s = await pki.leaf(
        `expired:${m.path}`,
        { dnsNames: origNames, usages: origUsages, validity: 'expired' },
        sameIssuer(pki, plan),
      );
      cfg.tls = withCert(tlsOf(target, m), s);
      return;
    }
    case 'client-cert-optional':
      cfg.tls = { ...tlsOf(target, m), clientAuth: 'verify-if-given' };
      return;
    case 'any-client-ca':
      cfg.tls = { ...tlsOf(target, m), clientAuth: 'require-any' };
      return;
    case 'legacy-tls':
      cfg.tls = { ...tlsOf(target, m), legacy: true };
      return;
    case 'dual-port':
      tlsOf(target, m);
      cfg.acceptPlain = true;
      return;
  }
}
