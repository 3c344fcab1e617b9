// Functional readiness gates for each install step of the real run. Each gate polls with a
// deadline and, on timeout, names every object still not ready and why (conditions, events, pod
// states). Sources for what each gate checks: shared/versions-and-images.md §2.3 (cmctl check
// api) and §5 (certgen, Contour, Knative), shared/anchors.md.
import type { KubeClient } from './client.ts';
import { KubeApiError } from './errors.ts';
import { explainPending, problemHints, workloadPodProblems } from './explain.ts';
import { daemonSetReadiness, deploymentReadiness, readyConditionReadiness } from './readiness.ts';
import {
  describeRef,
  findCondition,
  formatCondition,
  type KubeObject,
  type KubeRef,
  refOf,
} from './types.ts';
import { type CheckResult, type Pending, type WaitOptions, type WaitResult, waitFor } from './wait.ts';

export type GateOptions = Omit<WaitOptions, 'explain' | 'timeoutMs'> & { timeoutMs?: number };

export interface GateResult extends WaitResult {
  gate: string;
  /** Facts worth a line in the report (e.g. which webhook error classes were retried). */
  notes: string[];
}

// ---- cert-manager: a dry-run Certificate through the webhook (cmctl check api) -----------------

export type CertManagerErrorClass =
  | 'crds-missing'
  | 'webhook-service-missing'
  | 'webhook-connection-refused'
  | 'webhook-ca-not-injected'
  | 'webhook-no-endpoints'
  | 'webhook-timeout'
  | 'apiserver-unreachable';

/** What each class means and what is usually still happening. */
export const CERT_MANAGER_CLASS_HINT: Record<CertManagerErrorClass, string> = {
  'crds-missing':
    'the cert-manager CRDs are not installed (yet): the chart installs them only with installCRDs=true (<= v1.14)',
  'webhook-service-missing': 'the cert-manager-webhook Service does not exist yet',
  'webhook-connection-refused':
    'the webhook Service exists but no webhook pod accepts connections yet (Deployment not ready)',
  'webhook-ca-not-injected':
    'cainjector has not yet written the CA bundle into the webhook configurations (x509: certificate signed by unknown authority)',
  'webhook-no-endpoints': 'the webhook Service has no ready endpoints yet',
  'webhook-timeout': 'the API server timed out calling the webhook',
  'apiserver-unreachable': 'the API server itself did not answer',
};

/** Classifies a failed dry-run create as cmctl does (cmapichecker.go); undefined: not retryable. */
export function classifyCertManagerError(e: unknown): CertManagerErrorClass | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof KubeApiError && (e.reason === 'ConnectionRefused' || e.reason === 'NetworkError')) {
    return 'apiserver-unreachable';
  }
  if (
    /failed to find API group "cert-manager\.io"|no matches for kind "Certificate"|the server could not find the requested resource|Unrecognized API version and kind: cert-manager\.io|Failed to fetch resource metadata for cert-manager\.io/.test(
      msg,
    )
  ) {
    return 'crds-missing';
  }
  if (/x509: certificate signed by unknown authority/.test(msg)) return 'webhook-ca-not-injected';
  if (/service "[^"]*" not found/.test(msg)) return 'webhook-service-missing';
  if (/connect: connection refused/.test(msg)) return 'webhook-connection-refused';
  if (/no endpoints available for service/.test(msg)) return 'webhook-no-endpoints';
  if (
    /failed calling webhook/.test(msg) &&
    /context deadline exceeded|i\/o timeout|Client\.Timeout/.test(msg)
  ) {
    return 'webhook-timeout';
  }
  return undefined;
}

/** The Certificate cmctl creates with dryRun=All; its issuer need not exist. */
export function apiCheckCertificate(namespace: string): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { generateName: 'cmapichecker-', namespace },
    spec: {
      dnsNames: ['cmapichecker.example'],
      secretName: 'cmapichecker',
      issuerRef: { name: 'cmapichecker' },
    },
  };
}

async function unreadyWorkloads(client: KubeClient, namespace: string, kind: 'Deployment' | 'DaemonSet') {
  const items = await client.list('apps/v1', kind, { namespace });
  const judge = kind === 'Deployment' ? deploymentReadiness : daemonSetReadiness;
  return items
    .map((o) => ({ o, r: judge(o) }))
    .filter((x) => !x.r.ready)
    .map((x): Pending => ({ object: describeRef(refOf(x.o)), why: x.r.why, ref: refOf(x.o) }));
}

/**
 * cert-manager is ready when a dry-run Certificate create passes its mutating and validating
 * webhooks. Retries on the known "not ready yet" error classes, naming the class in progress
 * lines and in the timeout error; any other error fails at once.
 */
export async function certManagerApiGate(
  client: KubeClient,
  opts: GateOptions & { namespace?: string } = {},
): Promise<GateResult> {
  const namespace = opts.namespace ?? 'cert-manager';
  const seen = new Set<CertManagerErrorClass>();
  const object = `cert-manager API (dry-run Certificate in ${namespace})`;
  const check = async (): Promise<CheckResult> => {
    try {
      await client.create(apiCheckCertificate(namespace), { dryRun: true });
      return { ready: true, pending: [] };
    } catch (e) {
      const cls = classifyCertManagerError(e);
      if (!cls) {
        throw new Error(
          `the cert-manager API check failed with an error that waiting will not fix: ${(e as Error).message}`,
          { cause: e },
        );
      }
      seen.add(cls);
      const detail = (e as Error).message.split('\n')[0] ?? '';
      return {
        ready: false,
        pending: [{ object, why: `${cls}: ${CERT_MANAGER_CLASS_HINT[cls]}`, details: [detail] }],
      };
    }
  };
  const r = await waitFor('cert-manager to accept a Certificate through its webhook', check, {
    ...opts,
    timeoutMs: opts.timeoutMs ?? 180_000,
    // Non-retryable errors are thrown by the check itself: they end the wait.
    isFatal: (e) => !(e instanceof KubeApiError) || e.reason === 'Unauthorized' || e.reason === 'Forbidden',
    hints: problemHints,
    explain: async (pending) => {
      const workloads = await unreadyWorkloads(client, namespace, 'Deployment').catch(() => []);
      return explainPending(client, [...pending, ...workloads]);
    },
  });
  return {
    ...r,
    gate: 'cert-manager-api',
    notes: seen.size ? [`retried while: ${[...seen].join(', ')}`] : [],
  };
}

// ---- Direktiv's Knative chart: certgen Secrets, both Contours, Knative Deployments -------------

export interface KnativeGateOptions extends GateOptions {
  /** Helm release name of the Knative chart; its system namespace is knative-serving-<release>. */
  release?: string;
  contourNamespaces?: string[];
  /** Deployments that must exist in the Knative namespace (all present ones must be Available). */
  requiredDeployments?: string[];
}

const CERTGEN_SECRETS = ['contourcert', 'envoycert'];

export async function knativeChartCheck(
  client: KubeClient,
  opts: KnativeGateOptions = {},
): Promise<CheckResult> {
  const pending: Pending[] = [];
  for (const ns of opts.contourNamespaces ?? ['contour-external', 'contour-internal']) {
    for (const name of CERTGEN_SECRETS) {
      const ref: KubeRef = { apiVersion: 'v1', kind: 'Secret', namespace: ns, name };
      if (!(await client.getOrNull(ref))) {
        pending.push({
          object: describeRef(ref),
          why: 'not created yet (the contour-certgen Job writes it and deletes itself right after success, so the Secret is what the gate waits for)',
          ref: { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'contour-certgen-v1.14.0' },
        });
      }
    }
    const deploy: KubeRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'contour' };
    const d = await client.getOrNull(deploy);
    const dr = d
      ? deploymentReadiness(d)
      : { ready: false, why: 'not found (is the Knative chart installed?)' };
    if (!dr.ready) pending.push({ object: describeRef(deploy), why: dr.why, ref: deploy });
    const ds: KubeRef = { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: ns, name: 'envoy' };
    const e = await client.getOrNull(ds);
    const er = e
      ? daemonSetReadiness(e)
      : { ready: false, why: 'not found (is the Knative chart installed?)' };
    if (!er.ready) pending.push({ object: describeRef(ds), why: er.why, ref: ds });
  }
  const kns = `knative-serving-${opts.release ?? 'knative'}`;
  const deployments = await client.list('apps/v1', 'Deployment', { namespace: kns });
  const names = new Set(deployments.map((d) => d.metadata.name));
  for (const req of opts.requiredDeployments ?? ['controller', 'webhook', 'net-contour-controller']) {
    if (!names.has(req)) {
      pending.push({
        object: `Deployment ${kns}/${req}`,
        why: 'not found (expected from the Knative chart)',
      });
    }
  }
  for (const d of deployments) {
    const r = deploymentReadiness(d);
    if (!r.ready) pending.push({ object: describeRef(refOf(d)), why: r.why, ref: refOf(d) });
  }
  return { ready: pending.length === 0, pending };
}

/** Gate after installing Direktiv's Knative chart (no `helm --wait`: the LoadBalancer never gets an IP on kind). */
export async function knativeChartGate(
  client: KubeClient,
  opts: KnativeGateOptions = {},
): Promise<GateResult> {
  const r = await waitFor(
    'the Knative chart (certgen Secrets, both Contours, Knative Serving)',
    () => knativeChartCheck(client, opts),
    {
      ...opts,
      timeoutMs: opts.timeoutMs ?? 300_000,
      explain: (p) => explainPending(client, p),
      hints: problemHints,
    },
  );
  return { ...r, gate: 'knative-chart', notes: [] };
}

// ---- every Certificate Ready ---------------------------------------------------------------------

export interface CertificatesGateOptions extends GateOptions {
  namespaces: string[];
  /** Certificates that must exist (a profile's objects); others found are checked too. */
  expect?: { namespace: string; name: string }[];
}

/** Pending lines for one not-ready Certificate: its CertificateRequests and its issuer. */
export async function explainCertificate(client: KubeClient, cert: KubeObject): Promise<string[]> {
  const ns = cert.metadata.namespace ?? 'default';
  const out: string[] = [];
  const issuing = findCondition(cert, 'Issuing');
  if (issuing) out.push(formatCondition(issuing));
  const requests = (await client.list('cert-manager.io/v1', 'CertificateRequest', { namespace: ns })).filter(
    (cr) =>
      cr.metadata.annotations?.['cert-manager.io/certificate-name'] === cert.metadata.name ||
      (cr.metadata.ownerReferences ?? []).some((o) => o.uid === cert.metadata.uid),
  );
  requests.sort((a, b) =>
    (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
  );
  if (requests.length === 0)
    out.push('no CertificateRequest yet (the cert-manager controller has not acted on it)');
  for (const cr of requests.slice(0, 2)) {
    const conds = ['Approved', 'Denied', 'InvalidRequest', 'Ready']
      .map((t) => findCondition(cr, t))
      .filter((c) => c !== undefined)
      .map((c) => formatCondition(c));
    out.push(`CertificateRequest ${ns}/${cr.metadata.name}: ${conds.join(', ') || 'no conditions yet'}`);
  }
  const issuerRef = (cert.spec as { issuerRef?: { name?: string; kind?: string } } | undefined)?.issuerRef;
  if (issuerRef?.name) {
    const kind = issuerRef.kind ?? 'Issuer';
    const ref: KubeRef = {
      apiVersion: 'cert-manager.io/v1',
      kind,
      name: issuerRef.name,
      ...(kind === 'Issuer' ? { namespace: ns } : {}),
    };
    const issuer = await client.getOrNull(ref);
    if (!issuer) out.push(`${describeRef(ref)}: not found`);
    else {
      const r = readyConditionReadiness(issuer);
      if (!r.ready) out.push(`${describeRef(ref)}: ${r.why}`);
    }
  }
  return out;
}

export async function certificatesCheck(
  client: KubeClient,
  opts: CertificatesGateOptions,
): Promise<CheckResult> {
  const pending: Pending[] = [];
  for (const ns of opts.namespaces) {
    const certs = await client.list('cert-manager.io/v1', 'Certificate', { namespace: ns });
    for (const exp of (opts.expect ?? []).filter((x) => x.namespace === ns)) {
      if (!certs.some((c) => c.metadata.name === exp.name)) {
        pending.push({
          object: `Certificate ${ns}/${exp.name}`,
          why: 'not found (was the profile applied?)',
        });
      }
    }
    for (const c of certs) {
      const r = readyConditionReadiness(c);
      if (!r.ready) pending.push({ object: describeRef(refOf(c)), why: r.why, ref: refOf(c) });
    }
  }
  return { ready: pending.length === 0, pending };
}

export async function certificatesReadyGate(
  client: KubeClient,
  opts: CertificatesGateOptions,
): Promise<GateResult> {
  const r = await waitFor(
    `every Certificate Ready in ${opts.namespaces.join(', ')}`,
    () => certificatesCheck(client, opts),
    {
      ...opts,
      timeoutMs: opts.timeoutMs ?? 180_000,
      hints: problemHints,
      explain: async (pending) => {
        const out: Pending[] = [];
        for (const p of await explainPending(client, pending)) {
          if (p.ref?.kind !== 'Certificate') {
            out.push(p);
            continue;
          }
          const cert = await client.getOrNull(p.ref);
          out.push({
            ...p,
            details: [...(cert ? await explainCertificate(client, cert) : []), ...(p.details ?? [])],
          });
        }
        return out;
      },
    },
  );
  return { ...r, gate: 'certificates-ready', notes: [] };
}

// ---- Deployments available --------------------------------------------------------------------

export interface DeploymentsGateOptions extends GateOptions {
  namespace: string;
  labelSelector?: string;
  /** Deployments that must exist (e.g. direktiv, direktiv-api, direktiv-functions). */
  expect?: string[];
}

export async function deploymentsCheck(
  client: KubeClient,
  opts: DeploymentsGateOptions,
): Promise<CheckResult> {
  const deps = await client.list('apps/v1', 'Deployment', {
    namespace: opts.namespace,
    labelSelector: opts.labelSelector,
  });
  const pending: Pending[] = [];
  for (const name of opts.expect ?? []) {
    if (!deps.some((d) => d.metadata.name === name)) {
      pending.push({ object: `Deployment ${opts.namespace}/${name}`, why: 'not found' });
    }
  }
  if (deps.length === 0 && !opts.expect?.length) {
    pending.push({ object: `Deployments in ${opts.namespace}`, why: 'none exist yet' });
  }
  for (const d of deps) {
    const r = deploymentReadiness(d);
    if (!r.ready) pending.push({ object: describeRef(refOf(d)), why: r.why, ref: refOf(d) });
  }
  return { ready: pending.length === 0, pending };
}

export async function deploymentsAvailableGate(
  client: KubeClient,
  opts: DeploymentsGateOptions,
): Promise<GateResult> {
  const what = `every Deployment in ${opts.namespace}${opts.labelSelector ? ` (${opts.labelSelector})` : ''} available`;
  const r = await waitFor(what, () => deploymentsCheck(client, opts), {
    ...opts,
    timeoutMs: opts.timeoutMs ?? 300_000,
    explain: (p) => explainPending(client, p),
    hints: problemHints,
  });
  return { ...r, gate: 'deployments-available', notes: [] };
}

/** Pod problems of the named Deployment, for callers outside a gate (e.g. a failed helm --wait). */
export async function deploymentProblems(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<string[]> {
  const d = await client.getOrNull({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
  if (!d) return [`Deployment ${namespace}/${name} not found`];
  return [deploymentReadiness(d).why, ...(await workloadPodProblems(client, d))];
}

// ---- fixed NodePorts on the external Envoy -------------------------------------------------------

export interface NodePortOptions {
  namespace?: string;
  service?: string;
  http?: number;
  https?: number;
}

/**
 * Pins the contour-external/envoy Service's nodePorts (31080/31443 by default) so kind's
 * extraPortMappings reach it from the host. JSON patch with `test` ops on the port numbers so
 * the wrong list element is never changed. Idempotent; verifies the result.
 */
export async function patchEnvoyNodePorts(
  client: KubeClient,
  opts: NodePortOptions = {},
): Promise<{ http: number; https: number; changed: boolean }> {
  const namespace = opts.namespace ?? 'contour-external';
  const name = opts.service ?? 'envoy';
  const want = { http: opts.http ?? 31080, https: opts.https ?? 31443 };
  const ref: KubeRef = { apiVersion: 'v1', kind: 'Service', namespace, name };
  const svc = await client.get(ref);
  const spec = (svc.spec ?? {}) as {
    type?: string;
    ports?: { name?: string; port: number; nodePort?: number }[];
  };
  const ports = spec.ports ?? [];
  const find = (port: number, names: string[]) =>
    ports.findIndex((p) => p.port === port || (p.name !== undefined && names.includes(p.name)));
  const idx = { http: find(80, ['http']), https: find(443, ['https']) };
  for (const k of ['http', 'https'] as const) {
    if (idx[k] < 0) {
      throw new Error(
        `${describeRef(ref)} has no ${k} port (ports: ${ports.map((p) => `${p.name ?? '?'}:${p.port}`).join(', ') || 'none'}); the Knative chart's Envoy Service should expose 80 and 443`,
      );
    }
  }
  const ops: { op: 'test' | 'replace'; path: string; value: unknown }[] = [];
  if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') {
    ops.push({ op: 'replace', path: '/spec/type', value: 'NodePort' });
  }
  for (const k of ['http', 'https'] as const) {
    const p = ports[idx[k]];
    if (p?.nodePort === want[k]) continue;
    ops.push({ op: 'test', path: `/spec/ports/${idx[k]}/port`, value: p?.port });
    ops.push({ op: 'replace', path: `/spec/ports/${idx[k]}/nodePort`, value: want[k] });
  }
  if (ops.length === 0) return { ...want, changed: false };
  const out = await client.jsonPatch(ref, ops);
  const got = ((out.spec as typeof spec).ports ?? []).map((p) => p.nodePort);
  if (got[idx.http] !== want.http || got[idx.https] !== want.https) {
    throw new Error(
      `${describeRef(ref)}: after patching, nodePorts are ${got.join(', ')} instead of ${want.http}, ${want.https}; another controller may be resetting them`,
    );
  }
  return { ...want, changed: true };
}
