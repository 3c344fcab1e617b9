// The control-plane tier: real etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok as local processes, then real cert-manager (controller, webhook, cainjector) issuing the
// profile chart's certificates. Builds the programs first (cached in ~/.cache/direktiv-tls-e2e).
// The tests run in order on one control plane; each says what it proves.
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { direktivMounts, type SecretMount } from '../../scenarios/direktiv-chart-model.ts';
import { direktivValues } from '../../scenarios/direktiv-values.ts';
import { knativeSettings, knativeState } from '../../scenarios/knative-settings.ts';
import { buildScenario } from '../../scenarios/scenario.ts';
import { type K8sObject, renderProfile } from '../../scripts/lib/chart/render.ts';
import { exitCodeOfError } from '../../scripts/lib/cli/exit-codes.ts';
import {
  type ControlPlane,
  ControlPlaneError,
  downKept,
  keep,
  startControlPlane,
} from '../../scripts/lib/control-plane/index.ts';
import { checkIssuedSecrets } from '../../scripts/lib/control-plane/issued.ts';
import { ensurePortFree } from '../../scripts/lib/control-plane/processes.ts';
import { httpsGet, NODE_NAME } from '../../scripts/lib/control-plane/start.ts';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import {
  certificatesReadyGate,
  certManagerApiGate,
  deploymentsAvailableGate,
} from '../../scripts/lib/k8s/gates.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import { WaitTimeoutError } from '../../scripts/lib/k8s/wait.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

const log = (line: string) => process.stderr.write(`  [control-plane] ${line}\n`);
let stateDir = '';
let cp: ControlPlane;
let client: KubeClient;
let helm = '';
let downDone = false;

const scenario = buildScenario({ profile: 'full-mtls', namespace: 'direktiv' });
const mounts: SecretMount[] = direktivMounts(direktivValues(scenario), {
  namespace: scenario.namespace,
  knative: knativeState(knativeSettings(scenario)),
});
const namespaces = [scenario.namespace, scenario.serviceNamespace, 'contour-internal'];

test.before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'cp-tier-'));
  helm = await testHelm();
  cp = await startControlPlane({ stateDir, log, readyTimeoutSec: 180 });
  client = KubeClient.fromKubeconfig(cp.kubeconfig);
});

test.after(async () => {
  if (cp && !downDone) await cp.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

async function apiGet(path: string, withIdentity: boolean): Promise<{ status: number; body: string }> {
  const pki = join(stateDir, 'pki');
  const ca = await readFile(join(pki, 'ca.crt'));
  const tls = withIdentity
    ? { ca, cert: await readFile(join(pki, 'admin.crt')), key: await readFile(join(pki, 'admin.key')) }
    : { ca };
  return httpsGet(`${cp.server}${path}`, tls);
}

test('kube-apiserver answers on loopback as v1.24.17, refuses an anonymous caller, all components listed', async () => {
  const v = await apiGet('/version', true);
  assert.is(v.status, 200);
  assert.is((JSON.parse(v.body) as { gitVersion: string }).gitVersion, 'v1.24.17');
  // Real authentication and RBAC: no client certificate, no namespaces.
  const anon = await apiGet('/api/v1/namespaces', false);
  assert.ok(anon.status === 401 || anon.status === 403, `anonymous list answered ${anon.status}`);
  const names = cp.components().map((c) => `${c.name} ${c.version}`);
  for (const n of [
    'etcd v3.5.6',
    'kube-apiserver v1.24.17',
    'kube-controller-manager v1.24.17',
    'kube-scheduler v1.24.17',
    'kubectl v1.24.17',
    'kwok v0.6.1',
  ]) {
    assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  }
  assert.ok(cp.components().every((c) => c.source === `built from ${moduleOf(c.name)}@${c.version}`));
});

const moduleOf = (name: string) =>
  name === 'etcd'
    ? 'go.etcd.io/etcd/server/v3'
    : name === 'kwok'
      ? 'sigs.k8s.io/kwok'
      : name.startsWith('cert-manager')
        ? 'github.com/cert-manager/cert-manager'
        : 'k8s.io/kubernetes';

const deployment = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'rollout-check' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      // kwok never pulls images: the reference only has to be valid.
      spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }], ...extra },
    },
  },
});

test('a Deployment rolls out on the kwok node; one no node can take stays unavailable and the gate says so', async () => {
  await client.applyAll([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rollout-check' } }]);
  await client.apply(deployment('rolls-out'));
  await deploymentsAvailableGate(client, { namespace: 'rollout-check', timeoutMs: 90_000 });
  const pods = await client.list('v1', 'Pod', { namespace: 'rollout-check' });
  assert.is(pods.length, 2);
  for (const p of pods) {
    assert.is((p.spec as { nodeName?: string }).nodeName, NODE_NAME);
    const st = p.status as { podIP?: string; conditions?: { type: string; status: string }[] };
    assert.ok(st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    assert.match(st.podIP ?? '', /^10\.244\.0\./);
  }
  // The detector fires: the scheduler finds no node for this selector, so it never rolls out.
  await client.apply(deployment('never-scheduled', { nodeSelector: { 'no-such-label': 'x' } }));
  try {
    await deploymentsAvailableGate(client, { namespace: 'rollout-check', timeoutMs: 8_000 });
    assert.unreachable('a Deployment without a node must not become available');
  } catch (e) {
    assert.instance(e, WaitTimeoutError);
    assert.match((e as Error).message, 'Deployment rollout-check/never-scheduled');
    assert.not.match((e as Error).message, 'rollout-check/rolls-out ');
  }
  await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'rollout-check' });
});

test('real cert-manager from its module: CRDs, webhook through the API server, CA injected, invalid objects refused', async () => {
  const objects = await cp.certManagerManifests(helm);
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
  assert.is(crds.length, 6);
  const hooks = objects.filter((o) => /WebhookConfiguration$/.test(o.kind));
  for (const h of hooks) {
    for (const w of h.webhooks as { clientConfig: { url?: string } }[]) {
      assert.match(w.clientConfig.url ?? '', /^https:\/\/localhost:\d+\//);
    }
  }
  await client.applyAll(objects);
  await cp.startCertManager();
  await certManagerApiGate(client, { timeoutMs: 60_000 });
  const names = cp.components().map((c) => `${c.name} ${c.version}`);
  for (const n of ['cert-manager-controller', 'cert-manager-webhook', 'cert-manager-cainjector']) {
    assert.ok(names.includes(`${n} v1.11.5`), `${n} in ${names.join(', ')}`);
  }
  // The validating webhook is real: a Certificate without an issuer is refused by it.
  try {
    await client.apply(
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: { name: 'invalid', namespace: 'default' },
        spec: { secretName: 'invalid', dnsNames: ['a.example'], issuerRef: { name: '' } },
      },
      { dryRun: true },
    );
    assert.unreachable('the webhook must refuse a Certificate without an issuer name');
  } catch (e) {
    assert.match((e as Error).message, /webhook\.cert-manager\.io|issuerRef/);
  }
});

/** The profile chart's cert-manager objects (the Contour delegation needs Contour's CRDs, not here). */
async function profileObjects(): Promise<K8sObject[]> {
  return (await renderProfile(scenario, helm)).filter((o) => o.apiVersion === 'cert-manager.io/v1');
}

const gateNamespaces = [...namespaces, 'cert-manager'];

test('a profile without its CA issuer: the leaf Certificates never get Ready and the gate names the missing ClusterIssuer', async () => {
  await client.applyAll(
    namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
  );
  const broken = (await profileObjects()).filter(
    (o) => !(o.kind === 'ClusterIssuer' && o.metadata.name === 'direktiv-ca'),
  );
  await client.applyAll(broken as KubeObject[]);
  try {
    await certificatesReadyGate(client, { namespaces: gateNamespaces, timeoutMs: 20_000 });
    assert.unreachable('Certificates of a missing issuer must not become Ready');
  } catch (e) {
    assert.instance(e, WaitTimeoutError);
    const msg = (e as Error).message;
    assert.match(msg, 'ClusterIssuer direktiv-ca: not found');
    assert.match(msg, 'Certificate direktiv/direktiv-cert-flow');
    // The self-signed CA itself does not need the missing issuer: it is issued.
    assert.not.match(msg, 'Certificate cert-manager/direktiv-ca:');
  }
});

test('full-mtls: every Certificate Ready, issued by cert-manager, each Secret where it is mounted with the names its clients dial', async () => {
  await client.applyAll((await profileObjects()) as KubeObject[]);
  await certificatesReadyGate(client, { namespaces: gateNamespaces, timeoutMs: 120_000 });
  const problems = await checkIssuedSecrets(client, mounts);
  assert.equal(
    problems.map((p) => p.message),
    [],
  );
  assert.ok(mounts.length >= 10, `${mounts.length} mounts`);
  // Written by cert-manager (its annotations), chained to the profile's own CA.
  const caSecret = await client.get({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: 'cert-manager',
    name: 'direktiv-ca',
  });
  const ca = new X509Certificate(
    Buffer.from((caSecret.data as Record<string, string>)['tls.crt']!, 'base64'),
  );
  for (const m of mounts.filter((x) => x.reads.keyPair)) {
    const s = await client.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: m.namespace,
      name: m.secretName,
    });
    assert.ok(
      s.metadata.annotations?.['cert-manager.io/issuer-name'],
      `${m.namespace}/${m.secretName} issued by cert-manager`,
    );
    const leaf = new X509Certificate(Buffer.from((s.data as Record<string, string>)['tls.crt']!, 'base64'));
    if (s.metadata.annotations?.['cert-manager.io/issuer-name'] === 'direktiv-ca')
      assert.ok(leaf.checkIssued(ca));
  }
});

test('a SAN missing from the profile: cert-manager re-issues without it and the check names the path that breaks', async () => {
  const server = mounts.find((m) => m.role === 'server' && m.path === 'api->engine');
  assert.ok(server, 'the engine serves api->engine in full-mtls');
  const objects = await profileObjects();
  const cert = objects.find(
    (o) =>
      o.kind === 'Certificate' &&
      o.metadata.namespace === server!.namespace &&
      o.spec.secretName === server!.secretName,
  );
  assert.ok(cert, `a Certificate produces ${server!.secretName}`);
  const before = await client.get({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: server!.namespace,
    name: server!.secretName,
  });
  const dnsNames = (cert!.spec.dnsNames as string[]).filter((n) => !server!.dialNames.includes(n));
  assert.ok(dnsNames.length > 0 && dnsNames.length < (cert!.spec.dnsNames as string[]).length);
  await client.apply({ ...cert!, spec: { ...cert!.spec, dnsNames } } as KubeObject);
  const deadline = Date.now() + 60_000;
  let after = before;
  while (Date.now() < deadline) {
    after = await client.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: server!.namespace,
      name: server!.secretName,
    });
    if (
      (after.data as Record<string, string>)['tls.crt'] !== (before.data as Record<string, string>)['tls.crt']
    )
      break;
    await sleep(500);
  }
  assert.is.not(
    (after.data as Record<string, string>)['tls.crt'],
    (before.data as Record<string, string>)['tls.crt'],
    're-issued',
  );
  const problems = await checkIssuedSecrets(client, mounts);
  assert.ok(problems.length > 0, 'the missing SAN is found');
  for (const p of problems) {
    assert.is(p.check, 'san', p.message);
    assert.is(p.mount.secretName, server!.secretName);
  }
  assert.ok(
    problems.some((p) => p.mount.path === 'api->engine'),
    problems.map((p) => p.message).join('\n'),
  );
});

test('keep, then down: every process stopped, no port, folder or mount left', async () => {
  await keep(cp);
  const r = await downKept(stateDir);
  downDone = true;
  assert.ok(r.stopped.length >= 8, r.stopped.join(', '));
  assert.equal(r.leftovers, []);
  assert.not.ok(existsSync(join(stateDir, 'pki')), 'no private key is left on disk');
});

test('a port in use is a could-not-run error (exit 3) naming the port', async () => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  const port = (holder.address() as { port: number }).port;
  try {
    await ensurePortFree(port, 'kube-apiserver');
    assert.unreachable('a held port must be refused');
  } catch (e) {
    assert.instance(e, ControlPlaneError);
    assert.is(exitCodeOfError(e), 3);
    assert.match((e as Error).message, `127.0.0.1:${port} (kube-apiserver)`);
  } finally {
    holder.close();
  }
});

test.run();
