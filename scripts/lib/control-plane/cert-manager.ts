// Real cert-manager on the control plane: its manifests rendered from the pinned module's own chart
// (as its release build renders cert-manager.yaml), and its controller, webhook and cainjector run
// as local processes with the arguments, environment and ServiceAccount of the applied Deployments,
// the way a kubelet would start them.
import { cp as copy, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthenticationV1TokenRequest, CoreV1Api } from '@kubernetes/client-node';
import { execa } from 'execa';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { type UpstreamPin, upstreamPins } from '../../../kind/versions.ts';
import { KubeClient } from '../k8s/client.ts';
import type { KubeObject } from '../k8s/types.ts';
import { buildComponents, UPSTREAM_DIR } from './build.ts';
import type { ProcessRecord } from './processes.ts';
import { ControlPlaneError } from './types.ts';

const pin = upstreamPins.certManager;
export const CERT_MANAGER_NAMESPACE = 'cert-manager';

/** The control plane as this module needs it (start.ts's RunningControlPlane). */
export interface CertManagerHost {
  readonly stateDir: string;
  readonly kubeconfig: string;
  readonly server: string;
  readonly pki: { caCert: string };
  readonly certManagerPorts: Readonly<Record<'webhook' | 'webhookHealthz' | 'controllerMetrics', number>>;
  readonly tempDirs: string[];
  bins: Record<string, string>;
  spawn(
    name: string,
    args: readonly string[],
    ports: Record<string, number>,
    env?: Record<string, string>,
  ): ProcessRecord;
  waitReady(rec: ProcessRecord, what: string, check: () => Promise<boolean>): Promise<void>;
}

/** A pinned module's folder in the Go module cache (downloaded by `go mod download` if missing). */
export async function moduleDir(p: UpstreamPin = pin): Promise<string> {
  // In the project's module: the version its go.mod pins, verified against its go.sum.
  const r = await execa('go', ['mod', 'download', '-json', p.module], {
    cwd: join(UPSTREAM_DIR, p.dir),
    reject: false,
    stdin: 'ignore',
    env: { GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local' },
  });
  const dir = (() => {
    try {
      return (JSON.parse(r.stdout) as { Dir?: string; Error?: string }).Dir;
    } catch {
      return undefined;
    }
  })();
  if (!dir) {
    throw new ControlPlaneError(
      `cannot download ${p.module}@${p.version}: ${(r.stdout || r.stderr).split('\n').slice(0, 3).join(' ')}`,
      'The control-plane run reads charts and CRDs (cert-manager, kwok) from the Go module proxy: check GOPROXY and the network.',
    );
  }
  return dir;
}

/**
 * The chart as cert-manager's release build assembles it (make/manifests.mk): Chart.yaml from
 * Chart.template.yaml with the version set, the CRDs concatenated into templates/crds.yaml behind
 * `installCRDs`. Written to a fresh temp folder (the module cache is read-only).
 */
async function assembleChart(mod: string, into: string): Promise<string> {
  const src = join(mod, 'deploy', 'charts', 'cert-manager');
  const chart = join(into, 'cert-manager');
  await mkdir(join(chart, 'templates'), { recursive: true });
  await copy(join(src, 'templates'), join(chart, 'templates'), { recursive: true });
  await copy(join(src, 'values.yaml'), join(chart, 'values.yaml'));
  const meta = parse(await readFile(join(src, 'Chart.template.yaml'), 'utf8')) as Record<string, unknown>;
  meta.version = pin.version;
  meta.appVersion = pin.version;
  await writeFile(join(chart, 'Chart.yaml'), stringify(meta));
  const crdDir = join(mod, 'deploy', 'crds');
  const crds = (await readdir(crdDir)).filter((f) => f.endsWith('.yaml')).sort();
  const texts = await Promise.all(crds.map((f) => readFile(join(crdDir, f), 'utf8')));
  await writeFile(
    join(chart, 'templates', 'crds.yaml'),
    `{{- if .Values.installCRDs }}\n${texts.map((t) => t.trimEnd()).join('\n---\n')}\n{{- end }}\n`,
  );
  return chart;
}

/**
 * cert-manager's manifests for this control plane: the Namespace, then `helm template` of the
 * module's chart with the values of the static release manifest (installCRDs, creator=static,
 * no startupapicheck) plus `webhook.url.host`, the chart's own switch for a webhook outside the
 * cluster. There is no kube-proxy here, so a Service ClusterIP would lead nowhere: the API server
 * must call the webhook process on loopback, by a name its serving certificate carries.
 */
export async function renderCertManager(
  helm: string,
  webhookPort: number,
  tmpRoot: string,
): Promise<KubeObject[]> {
  const mod = await moduleDir();
  const work = await mkdtemp(join(tmpRoot, 'cert-manager-chart-'));
  const chart = await assembleChart(mod, work);
  const r = await execa(
    helm,
    [
      'template',
      'cert-manager',
      chart,
      '--namespace',
      CERT_MANAGER_NAMESPACE,
      '--api-versions=',
      '--set',
      'installCRDs=true',
      '--set',
      'creator=static',
      '--set',
      'startupapicheck.enabled=false',
      '--set',
      `webhook.securePort=${webhookPort}`,
      '--set',
      `webhook.url.host=localhost:${webhookPort}`,
    ],
    { reject: false, stdin: 'ignore' },
  );
  if (r.exitCode !== 0) {
    throw new ControlPlaneError(
      `helm template of cert-manager ${pin.version} failed: ${r.stderr.trim()}`,
      `chart assembled in ${chart}`,
    );
  }
  const ns = await readFile(join(mod, 'deploy', 'manifests', 'namespace.yaml'), 'utf8');
  return parseAllDocuments(`${ns}\n---\n${r.stdout}`)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => Boolean(o?.kind));
}

interface Container {
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}

/** `$(VAR)` in container args, expanded from the container's env as the kubelet does. */
export function expandArgs(args: readonly string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env[n] ?? m));
}

function containerEnv(c: Container, namespace: string, podName: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') out[e.name] = namespace;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') out[e.name] = podName;
  }
  return out;
}

/** A kubeconfig with a bound token of the Deployment's ServiceAccount: the chart's RBAC applies. */
async function serviceAccountKubeconfig(
  host: CertManagerHost,
  client: KubeClient,
  sa: string,
): Promise<string> {
  const core = client.kc.makeApiClient(CoreV1Api);
  const body = new AuthenticationV1TokenRequest();
  body.spec = { expirationSeconds: 24 * 3600, audiences: [] };
  const tr = await core.createNamespacedServiceAccountToken({
    name: sa,
    namespace: CERT_MANAGER_NAMESPACE,
    body,
  });
  const token = tr.status?.token;
  if (!token)
    throw new ControlPlaneError(
      `no token issued for ServiceAccount ${CERT_MANAGER_NAMESPACE}/${sa}`,
      'Is kube-controller-manager running?',
    );
  const path = join(host.stateDir, 'kubeconfig', `${sa}.kubeconfig`);
  const kc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'control-plane', cluster: { server: host.server, 'certificate-authority': host.pki.caCert } },
    ],
    users: [{ name: sa, user: { token } }],
    contexts: [
      { name: sa, context: { cluster: 'control-plane', user: sa, namespace: CERT_MANAGER_NAMESPACE } },
    ],
    'current-context': sa,
  };
  await writeFile(path, stringify(kc), { mode: 0o600 });
  return path;
}

const DEPLOYMENTS = [
  // Order: the webhook first (the controller's first writes go through it), cainjector gives it its CA.
  { program: 'cert-manager-webhook', deployment: 'cert-manager-webhook' },
  { program: 'cert-manager-cainjector', deployment: 'cert-manager-cainjector' },
  { program: 'cert-manager-controller', deployment: 'cert-manager' },
] as const;

/** Starts controller, webhook and cainjector from the applied Deployments; waits until the webhook serves with an injected CA. */
export async function startCertManagerProcesses(
  host: CertManagerHost,
  log: (line: string) => void,
): Promise<void> {
  Object.assign(host.bins, await buildComponents(log, { only: ['certManager'] }));
  const client = KubeClient.fromKubeconfig(host.kubeconfig);
  const ports = host.certManagerPorts;
  for (const { program, deployment } of DEPLOYMENTS) {
    const d = await client.getOrNull({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: CERT_MANAGER_NAMESPACE,
      name: deployment,
    });
    if (!d) {
      throw new ControlPlaneError(
        `Deployment ${CERT_MANAGER_NAMESPACE}/${deployment} is not there`,
        "Apply cert-manager's manifests (ControlPlane.certManagerManifests) before startCertManager().",
      );
    }
    const podSpec = (
      d.spec as { template: { spec: { serviceAccountName?: string; containers: Container[] } } }
    ).template.spec;
    const c = podSpec.containers[0]!;
    const env = containerEnv(c, CERT_MANAGER_NAMESPACE, `${deployment}-local`);
    const kubeconfig = await serviceAccountKubeconfig(host, client, podSpec.serviceAccountName ?? 'default');
    const args = expandArgs(c.args ?? [], env);
    const extra: string[] = [];
    const procPorts: Record<string, number> = {};
    if (program === 'cert-manager-webhook') {
      // The API server dials https://localhost:<port> (webhook.url.host): the serving certificate
      // the webhook issues itself must carry that name.
      extra.push(
        `--kubeconfig=${kubeconfig}`,
        `--healthz-port=${ports.webhookHealthz}`,
        '--dynamic-serving-dns-names=localhost',
      );
      procPorts.secure = ports.webhook;
      procPorts.healthz = ports.webhookHealthz;
    } else if (program === 'cert-manager-controller') {
      extra.push(
        `--kubeconfig=${kubeconfig}`,
        `--metrics-listen-address=127.0.0.1:${ports.controllerMetrics}`,
      );
      procPorts.metrics = ports.controllerMetrics;
    }
    // cainjector (controller-runtime) reads KUBECONFIG; the others take the flag, and get it too.
    const rec = host.spawn(program, [...args, ...extra], procPorts, { ...env, KUBECONFIG: kubeconfig });
    if (program === 'cert-manager-webhook') {
      await host.waitReady(
        rec,
        'GET /healthz',
        async () => (await fetch(`http://127.0.0.1:${ports.webhookHealthz}/healthz`)).ok,
      );
    } else if (program === 'cert-manager-controller') {
      await host.waitReady(
        rec,
        'GET /metrics',
        async () => (await fetch(`http://127.0.0.1:${ports.controllerMetrics}/metrics`)).ok,
      );
    } else {
      await host.waitReady(rec, 'CA injected into the webhook configurations', async () => {
        for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
          const w = await client.getOrNull({
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind,
            name: 'cert-manager-webhook',
          });
          const hooks = (w?.webhooks as { clientConfig?: { caBundle?: string } }[] | undefined) ?? [];
          if (!hooks.length || !hooks.every((h) => h.clientConfig?.caBundle)) return false;
        }
        return true;
      });
    }
  }
  // The webhook answers admission requests through the API server only once the injected CA
  // matches its serving certificate: a server-side dry run of a Certificate proves the whole path.
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      await client.apply(
        {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: { name: 'control-plane-webhook-check', namespace: CERT_MANAGER_NAMESPACE },
          spec: {
            secretName: 'control-plane-webhook-check',
            dnsNames: ['check.local'],
            issuerRef: { name: 'none', kind: 'Issuer' },
          },
        },
        { dryRun: true },
      );
      return;
    } catch (e) {
      last = (e as Error).message;
      await sleep(500);
    }
  }
  throw new ControlPlaneError(
    `cert-manager webhook does not answer through the API server: ${last}`,
    'See the webhook and cainjector logs in the state dir.',
  );
}
