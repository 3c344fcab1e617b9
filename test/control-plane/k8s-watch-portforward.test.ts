// Watch streams and port-forward against the real kube-apiserver, with kwok as the node's kubelet
// server: events delivered in order with selectors, the server ending a watch at timeoutSeconds,
// 410 Expired from a resourceVersion etcd has compacted away; port-forward refusals (RBAC,
// missing pod, pod without a node) reported with the API server's Status and the pod, and a
// forward through a Service that carries bytes API server -> kwok -> a loopback server.
import { createServer, connect as netConnect } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import { KubeApiError } from '../../scripts/lib/k8s/errors.ts';
import { PortForwardRefusedError, portForward } from '../../scripts/lib/k8s/portforward.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import { waitFor } from '../../scripts/lib/k8s/wait.ts';
import { type WatchEventType, waitForWatchEvent, watchObjects } from '../../scripts/lib/k8s/watch.ts';
import {
  compactEtcd,
  freshNamespace,
  kubeconfigVariant,
  type SharedCluster,
  sharedCluster,
} from './helpers/shared-cluster.ts';

const NS = 'watch-check';
let shared: SharedCluster;
let client: KubeClient;

test.before(async () => {
  shared = await sharedCluster();
  client = shared.client;
  await freshNamespace(client, NS);
});

const cm = (name: string, app: string, v: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: NS, labels: { app } },
  data: { v },
});

test('watch delivers ADDED for existing objects, then ADDED/MODIFIED/DELETED as they change, filtered by label', async () => {
  await client.apply(cm('before', 'harness', '0'));
  const seen: string[] = [];
  const w = await watchObjects(
    client,
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, labelSelector: 'app=harness' },
    (type: WatchEventType, obj) => {
      if (type !== 'BOOKMARK') seen.push(`${type} ${obj.metadata.name} ${(obj.data as { v: string }).v}`);
    },
  );
  // The stream is open once the existing object arrived: later changes are events, not state.
  await waitFor('the initial ADDED', async () => ({ ready: seen.length >= 1, pending: [] }), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
  await client.apply(cm('other', 'someone-else', '1'));
  await client.apply(cm('live', 'harness', '1'));
  await client.apply(cm('live', 'harness', '2'));
  await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'live' });
  await waitFor('four watch events', async () => ({ ready: seen.length >= 4, pending: [] }), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
  w.stop();
  await w.done;
  assert.equal(seen, ['ADDED before 0', 'ADDED live 1', 'MODIFIED live 2', 'DELETED live 2']);
});

test('waitForWatchEvent resolves with the first matching object', async () => {
  await client.apply(cm('flag', 'x', 'off'));
  const p = waitForWatchEvent(
    client,
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, fieldSelector: 'metadata.name=flag' },
    (type, obj) => type === 'MODIFIED' && (obj.data as { v: string }).v === 'on',
    10_000,
  );
  // Flip it only after the watch is open: the first poll of the object sees the watch's ADDED.
  await new Promise((r) => setTimeout(r, 500));
  await client.apply(cm('flag', 'x', 'on'));
  const obj = await p;
  assert.is(obj.metadata.name, 'flag');
  assert.is((obj.data as { v: string }).v, 'on');
});

test('the server ends a watch at timeoutSeconds and the handle completes', async () => {
  const started = Date.now();
  const w = await watchObjects(
    client,
    { apiVersion: 'v1', kind: 'Secret', namespace: NS, timeoutSeconds: 1 },
    () => {},
  );
  await w.done;
  assert.ok(Date.now() - started < 30_000, 'done resolved when the server closed the stream');
});

test('a watch from a compacted resourceVersion fails with 410 Expired as a KubeApiError', async () => {
  // kube-apiserver 1.24 keeps no watch cache for Events (DefaultWatchCacheSizes): their watches
  // go to etcd, which has dropped every revision before the compaction.
  const ev = await client.apply({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'compaction-mark', namespace: NS },
    involvedObject: { kind: 'ConfigMap', name: 'flag', namespace: NS },
    reason: 'Mark',
    message: 'the revision etcd is compacted to',
    type: 'Normal',
  });
  await compactEtcd(shared, ev.metadata.resourceVersion!);
  const w = await watchObjects(
    client,
    { apiVersion: 'v1', kind: 'Event', namespace: NS, resourceVersion: '1' },
    () => {},
  );
  try {
    await w.done;
    assert.unreachable();
  } catch (e) {
    assert.instance(e, KubeApiError);
    assert.is((e as KubeApiError).reason, 'Expired');
    assert.is((e as KubeApiError).code, 410);
    assert.match((e as Error).message, `watch Event in ${NS} failed`);
    assert.match((e as Error).message, 'The resourceVersion for the provided watch is too old.');
  }
});

/** A bare pod; the scheduler puts it on the kwok node, which makes it Running and Ready. */
const podOf = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, labels: { app: name } },
  spec: {
    containers: [
      { name: 'main', image: 'registry.invalid/app:1', ports: [{ name: 'http', containerPort: 8080 }] },
    ],
    ...extra,
  },
});

async function podRunning(name: string): Promise<void> {
  await waitFor(
    `pod ${NS}/${name} Running and Ready`,
    async () => {
      const p = await client.get({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name });
      const st = p.status as { phase?: string; conditions?: { type: string; status: string }[] };
      const ready =
        st.phase === 'Running' &&
        Boolean(st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return { ready, pending: ready ? [] : [{ object: `Pod ${NS}/${name}`, why: st.phase ?? 'no phase' }] };
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

test('port-forward refused by RBAC is reported with the pod, the Status and the RBAC hint', async () => {
  await client.apply(podOf('direktiv-flow-1'));
  await podRunning('direktiv-flow-1');
  // A ServiceAccount with no role at all: the API server's authorizer refuses it.
  await client.apply({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'harness', namespace: NS },
  });
  const token = await shared.client.kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: 'harness',
    namespace: NS,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: [], expirationSeconds: 600 },
    },
  });
  const path = await kubeconfigVariant(shared, 'no-rbac', (kc) => {
    for (const u of kc.users) u.user = { token: token.status?.token };
  });
  try {
    await portForward(KubeClient.fromKubeconfig(path), { namespace: NS, pod: 'direktiv-flow-1', port: 7777 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, PortForwardRefusedError);
    const err = e as PortForwardRefusedError;
    assert.is(err.code, 403);
    assert.is(err.status?.reason, 'Forbidden');
    assert.match(
      err.message,
      new RegExp(
        `port-forward to pod ${NS}/direktiv-flow-1 port 7777 refused: HTTP 403 Forbidden: pods "direktiv-flow-1" is forbidden: User "system:serviceaccount:${NS}:harness" cannot (get|create) resource "pods/portforward"`,
      ),
    );
    assert.match(err.message, 'RBAC');
  }
});

test('port-forward to a missing pod, or a pod no node runs, names the refusal', async () => {
  try {
    await portForward(client, { namespace: NS, pod: 'gone', port: 80 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, PortForwardRefusedError);
    assert.match(
      (e as Error).message,
      `port-forward to pod ${NS}/gone port 80 refused: HTTP 404 NotFound: pods "gone" not found`,
    );
  }
  // No node matches its selector: the scheduler leaves it Pending, without a host.
  await client.apply(podOf('unscheduled', { nodeSelector: { 'no-such-label': 'x' } }));
  try {
    await portForward(client, { namespace: NS, pod: 'unscheduled', port: 7777 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, PortForwardRefusedError);
    assert.match(
      (e as Error).message,
      'refused: HTTP 400 BadRequest: pod unscheduled does not have a host assigned',
    );
    assert.match((e as Error).message, 'The pod is not running');
  }
});

test('port-forward through a Service resolves the ready pod and named target port, and carries bytes both ways', async () => {
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as { port: number }).port;
  await client.apply(podOf('direktiv-api-1', {}));
  await podRunning('direktiv-api-1');
  await client.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'direktiv-api-service', namespace: NS },
    spec: { selector: { app: 'direktiv-api-1' }, ports: [{ port: 80, targetPort: 'http' }] },
  });
  // kwok's kubelet server forwards the pod's port 8080 to the loopback echo server.
  await client.apply({
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'PortForward',
    metadata: { name: 'direktiv-api-1', namespace: NS },
    spec: { forwards: [{ ports: [8080], target: { address: '127.0.0.1', port: echoPort } }] },
  });
  let accepted = 0;
  echo.on('connection', () => accepted++);
  // kwok picks the PortForward up from its watch: retry until it knows it.
  let fwd: Awaited<ReturnType<typeof portForward>> | undefined;
  try {
    fwd = await portForward(client, { namespace: NS, service: 'direktiv-api-service', port: 80 });
    assert.is(fwd.pod, 'direktiv-api-1');
    assert.is(fwd.remotePort, 8080);
    let reply = '';
    const deadline = Date.now() + 20_000;
    while (!reply && Date.now() < deadline) {
      reply = await new Promise<string>((resolve) => {
        const s = netConnect(fwd!.localPort, '127.0.0.1', () => s.write('ping through the tunnel'));
        const t = setTimeout(() => {
          s.destroy();
          resolve('');
        }, 3000);
        s.on('data', (d) => {
          clearTimeout(t);
          resolve(d.toString());
          s.destroy();
        });
        s.on('close', () => resolve(''));
        s.on('error', () => resolve(''));
      });
      if (!reply) await new Promise((r) => setTimeout(r, 300));
    }
    assert.is(reply, 'ping through the tunnel');
    assert.ok(accepted >= 1, 'the bytes reached the loopback server through kwok');
  } finally {
    await fwd?.close();
    echo.close();
  }
});

test.run();
