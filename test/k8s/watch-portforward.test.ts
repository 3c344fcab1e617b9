// Watch streams and port-forward against the fake API server: events delivered in order with
// selectors, server-side stream end, 410 Expired surfaced as an error; port-forward refusals
// reported with the API server's Status and the pod, and a forward that carries real bytes.
import { request } from 'node:https';
import { createServer, connect as netConnect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import { KubeApiError } from '../../scripts/lib/k8s/errors.ts';
import { PortForwardRefusedError, portForward } from '../../scripts/lib/k8s/portforward.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import { waitFor } from '../../scripts/lib/k8s/wait.ts';
import { type WatchEventType, waitForWatchEvent, watchObjects } from '../../scripts/lib/k8s/watch.ts';
import { FakeKube, namespace, pod, statusBody } from '../helpers/fake-kube.ts';

let fake: FakeKube;
let client: KubeClient;

test.before(async () => {
  fake = await FakeKube.start();
  client = KubeClient.fromKubeconfig(await fake.writeKubeconfig());
  fake.put(namespace('demo'));
});
test.after(async () => {
  await fake.close();
});

const cm = (name: string, app: string, v: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'demo', labels: { app } },
  data: { v },
});

test('watch delivers ADDED for existing objects, then ADDED/MODIFIED/DELETED as they change, filtered by label', async () => {
  await client.apply(cm('before', 'harness', '0'));
  const seen: string[] = [];
  const w = await watchObjects(
    client,
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', labelSelector: 'app=harness' },
    (type: WatchEventType, obj) => seen.push(`${type} ${obj.metadata.name} ${(obj.data as { v: string }).v}`),
  );
  await client.apply(cm('other', 'someone-else', '1'));
  await client.apply(cm('live', 'harness', '1'));
  await client.apply(cm('live', 'harness', '2'));
  await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'live' });
  await waitFor('four watch events', async () => ({ ready: seen.length >= 4, pending: [] }), {
    timeoutMs: 3000,
    intervalMs: 2,
  });
  w.stop();
  await w.done;
  assert.equal(seen, ['ADDED before 0', 'ADDED live 1', 'MODIFIED live 2', 'DELETED live 2']);
  const req = fake.requests.find((q) => q.query.get('watch') === 'true');
  assert.is(req?.path, '/api/v1/namespaces/demo/configmaps');
  assert.is(req?.query.get('labelSelector'), 'app=harness');
});

test('waitForWatchEvent resolves with the first matching object', async () => {
  const p = waitForWatchEvent(
    client,
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', fieldSelector: 'metadata.name=flag' },
    (type, obj) => type === 'MODIFIED' && (obj.data as { v: string }).v === 'on',
    3000,
  );
  fake.whenRequested({ method: 'GET', path: '/api/v1/namespaces/demo/configmaps' }, () => {
    fake.put(cm('flag', 'x', 'off'));
    fake.put(cm('flag', 'x', 'on'));
  });
  const obj = await p;
  assert.is(obj.metadata.name, 'flag');
});

test('the server ends a watch at timeoutSeconds and the handle completes', async () => {
  const w = await watchObjects(
    client,
    { apiVersion: 'v1', kind: 'Secret', namespace: 'demo', timeoutSeconds: 1 },
    () => {},
  );
  await w.done;
  assert.ok(true, 'done resolved when the server closed the stream');
});

test('a watch from a compacted resourceVersion fails with 410 Expired as a KubeApiError', async () => {
  const w = await watchObjects(
    client,
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', resourceVersion: '1' },
    () => {},
  );
  try {
    await w.done;
    assert.unreachable();
  } catch (e) {
    assert.instance(e, KubeApiError);
    assert.is((e as KubeApiError).reason, 'Expired');
    assert.is((e as KubeApiError).code, 410);
    assert.match((e as Error).message, 'too old resource version');
  }
});

test('the fake streams watch events as newline-delimited JSON with content type application/json', async () => {
  const { status, contentType, firstLine } = await new Promise<{
    status: number;
    contentType: string;
    firstLine: string;
  }>((resolve, reject) => {
    const u = new URL(`${fake.url}/api/v1/namespaces?watch=true&timeoutSeconds=5`);
    const req = request(u, { ca: fake.caPem, headers: { authorization: `Bearer ${fake.token}` } }, (res) => {
      let buf = '';
      res.on('data', (d) => {
        buf += d;
        if (buf.includes('\n')) {
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type']),
            firstLine: buf.split('\n')[0] ?? '',
          });
          req.destroy();
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
  assert.is(status, 200);
  assert.is(contentType, 'application/json');
  const ev = JSON.parse(firstLine);
  assert.is(ev.type, 'ADDED');
  assert.is(ev.object.kind, 'Namespace');
});

test('port-forward refused by the API server is reported with the pod and the Status', async () => {
  fake.put(pod({ namespace: 'demo', name: 'direktiv-flow-1', labels: { app: 'direktiv' } }));
  try {
    await portForward(client, { namespace: 'demo', pod: 'direktiv-flow-1', port: 7777 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, PortForwardRefusedError);
    const err = e as PortForwardRefusedError;
    assert.is(err.code, 403);
    assert.is(err.status?.reason, 'Forbidden');
    assert.match(
      err.message,
      'port-forward to pod demo/direktiv-flow-1 port 7777 refused: HTTP 403 Forbidden: pods "direktiv-flow-1" is forbidden: User "kind-harness" cannot create resource "pods/portforward"',
    );
    assert.match(err.message, 'RBAC');
  }
  const upgrade = fake.requests.find((q) => q.path.endsWith('/portforward'));
  assert.is(upgrade?.query.get('ports'), '7777');
  assert.is(upgrade?.headers.upgrade, 'websocket');
});

test('port-forward to a missing pod, or a pod that is not running, names the refusal', async () => {
  try {
    await portForward(client, { namespace: 'demo', pod: 'gone', port: 80 });
    assert.unreachable();
  } catch (e) {
    assert.match(
      (e as Error).message,
      'port-forward to pod demo/gone port 80 refused: HTTP 404 NotFound: pods "gone" not found',
    );
  }
  fake.portForward = (_ns, p) => ({
    refuse: statusBody(400, 'BadRequest', `unable to upgrade connection: pod ${p} is not running`),
  });
  try {
    await portForward(client, { namespace: 'demo', pod: 'direktiv-flow-1', port: 7777 });
    assert.unreachable();
  } catch (e) {
    assert.match(
      (e as Error).message,
      'refused: HTTP 400 BadRequest: unable to upgrade connection: pod direktiv-flow-1 is not running',
    );
  }
});

test('port-forward through a Service resolves the ready pod and named target port, and carries bytes both ways', async () => {
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as { port: number }).port;
  const podObj = pod({ namespace: 'demo', name: 'direktiv-api-1', labels: { app: 'direktiv-api' } });
  (podObj.spec as { containers: { ports?: unknown[] }[] }).containers[0]!.ports = [
    { name: 'http', containerPort: 8080 },
  ];
  (podObj.status as { conditions?: unknown[] }).conditions = [{ type: 'Ready', status: 'True' }];
  fake.put(podObj);
  fake.put({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'direktiv-api-service', namespace: 'demo' },
    spec: { selector: { app: 'direktiv-api' }, ports: [{ port: 8080, targetPort: 'http' }] },
  });
  let asked: string[] = [];
  fake.portForward = (ns, p, port) => {
    asked = [ns, p, String(port)];
    return { accept: { host: '127.0.0.1', port: echoPort } };
  };
  const fwd = await portForward(client, { namespace: 'demo', service: 'direktiv-api-service', port: 8080 });
  try {
    assert.is(fwd.pod, 'direktiv-api-1');
    assert.is(fwd.remotePort, 8080);
    assert.equal(asked, ['demo', 'direktiv-api-1', '8080']);
    const reply = await new Promise<string>((resolve, reject) => {
      const s = netConnect(fwd.localPort, '127.0.0.1', () => s.write('ping through the tunnel'));
      s.on('data', (d) => {
        resolve(d.toString());
        s.destroy();
      });
      s.on('error', reject);
    });
    assert.is(reply, 'ping through the tunnel');
    assert.equal(fwd.errors, []);
  } finally {
    await fwd.close();
    echo.close();
  }
});

test.run();
