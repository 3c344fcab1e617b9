// The Kubernetes client against the fake API server: server-side apply creating then updating,
// field-manager conflicts, get/list with selectors, and 404/409/422 mapped to clear errors.

import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIELD_MANAGER, KubeClient } from '../../scripts/lib/k8s/client.ts';
import { KubeApiError } from '../../scripts/lib/k8s/errors.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import { CERT_MANAGER_TYPES, FakeKube, namespace } from '../helpers/fake-kube.ts';

let fake: FakeKube;
let client: KubeClient;

test.before(async () => {
  fake = await FakeKube.start({ types: CERT_MANAGER_TYPES });
  client = KubeClient.fromKubeconfig(await fake.writeKubeconfig('kind-direktiv-tls-e2e'), {
    expectContext: 'kind-direktiv-tls-e2e',
  });
  fake.put(namespace('demo'));
});
test.after(async () => {
  await fake.close();
});

const cm = (data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'demo', labels: { app: 'harness' } },
  data,
});

test('server-side apply creates, then updates the same object, with the harness field manager', async () => {
  const created = await client.apply(cm({ a: '1' }));
  assert.is(created.metadata.uid !== undefined, true);
  const rv1 = Number(created.metadata.resourceVersion);
  const req = fake.requests.at(-1);
  assert.is(req?.method, 'PATCH');
  assert.is(req?.contentType, 'application/apply-patch+yaml');
  assert.is(req?.query.get('fieldManager'), FIELD_MANAGER);
  assert.is(req?.query.get('force'), 'true');

  const updated = await client.apply(cm({ a: '2', b: '3' }));
  assert.equal(updated.data, { a: '2', b: '3' });
  assert.is(updated.metadata.uid, created.metadata.uid);
  assert.ok(Number(updated.metadata.resourceVersion) > rv1);
  assert.equal(fake.managersOf('v1', 'ConfigMap', 'demo', 'settings'), [FIELD_MANAGER]);
  // A field the manager stops applying is removed (apply is declarative).
  const shrunk = await client.apply(cm({ a: '2' }));
  assert.equal(shrunk.data, { a: '2' });
  assert.ok(client.tracker.refs().some((r) => r.kind === 'ConfigMap' && r.name === 'settings'));
  assert.ok(client.tracker.namespaces().includes('demo'));
});

test('apply without force reports a field-manager conflict as a clear 409 error', async () => {
  fake.put(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owned', namespace: 'demo' },
      data: { k: 'helm' },
    },
    'helm',
  );
  const obj: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'owned', namespace: 'demo' },
    data: { k: 'harness' },
  };
  try {
    await client.apply(obj, { force: false });
    assert.unreachable('apply without force must conflict');
  } catch (e) {
    assert.instance(e, KubeApiError);
    const err = e as KubeApiError;
    assert.is(err.reason, 'Conflict');
    assert.is(err.code, 409);
    assert.match(err.message, 'apply ConfigMap demo/owned failed');
    assert.match(err.message, 'conflict with "helm"');
    assert.match(err.message, '.data.k');
    assert.match(err.message, 'force');
  }
  const forced = await client.apply(obj);
  assert.equal(forced.data, { k: 'harness' });
});

test('get answers the object; a missing one is a NotFound naming kind, namespace and name', async () => {
  const got = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'settings' });
  assert.is(got.metadata.name, 'settings');
  assert.is(
    await client.getOrNull({ apiVersion: 'v1', kind: 'Secret', namespace: 'demo', name: 'nope' }),
    null,
  );
  try {
    await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'demo', name: 'ghost' });
    assert.unreachable();
  } catch (e) {
    const err = e as KubeApiError;
    assert.is(err.reason, 'NotFound');
    assert.is(err.code, 404);
    assert.match(
      err.message,
      'get Deployment demo/ghost failed: deployments.apps "ghost" not found (HTTP 404 NotFound)',
    );
    assert.is(err.status?.kind, 'Status');
  }
});

test('create of an existing object is AlreadyExists; delete is idempotent', async () => {
  const obj: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'once', namespace: 'demo' },
    stringData: { x: 'y' },
  };
  await client.create(obj);
  try {
    await client.create(obj);
    assert.unreachable();
  } catch (e) {
    const err = e as KubeApiError;
    assert.is(err.reason, 'AlreadyExists');
    assert.match(err.message, 'secrets "once" already exists');
    assert.match(err.message, 'server-side apply');
  }
  assert.is(await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'demo', name: 'once' }), true);
  assert.is(
    await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'demo', name: 'once' }),
    false,
  );
});

test('an invalid object is a 422 listing each field and why', async () => {
  const bad: KubeObject = {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'api-cert', namespace: 'demo' },
    spec: { dnsNames: ['a.example'] },
  };
  try {
    await client.apply(bad);
    assert.unreachable();
  } catch (e) {
    const err = e as KubeApiError;
    assert.is(err.reason, 'Invalid');
    assert.is(err.code, 422);
    assert.match(err.message, 'spec.secretName: Required value');
    assert.match(err.message, 'spec.issuerRef.name: Required value');
    assert.match(err.message, 'Fix the fields listed');
  }
  // A dry run stores nothing.
  const ok = { ...bad, spec: { dnsNames: ['a.example'], secretName: 's', issuerRef: { name: 'ca' } } };
  await client.apply(ok, { dryRun: true });
  assert.is(fake.getObject('cert-manager.io/v1', 'Certificate', 'demo', 'api-cert'), undefined);
});

test('list filters by label selector and restores apiVersion/kind on items', async () => {
  await client.apply({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'other', namespace: 'demo', labels: { app: 'else' } },
    data: {},
  });
  const mine = await client.list('v1', 'ConfigMap', { namespace: 'demo', labelSelector: 'app=harness' });
  assert.equal(
    mine.map((o) => o.metadata.name),
    ['settings'],
  );
  assert.is(mine[0]?.kind, 'ConfigMap');
  assert.is(mine[0]?.apiVersion, 'v1');
  const notMine = await client.list('v1', 'ConfigMap', { namespace: 'demo', labelSelector: 'app!=harness' });
  assert.ok(notMine.some((o) => o.metadata.name === 'other'));
});

test('applying into a missing namespace, or a kind the server does not serve, fails clearly', async () => {
  try {
    await client.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'nowhere' },
      data: {},
    });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, 'namespaces "nowhere" not found');
  }
  try {
    await client.apply({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'x', namespace: 'demo' },
    });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, 'apply Service demo/x failed');
    assert.match((e as Error).message, 'no matches for kind "Service" in version "serving.knative.dev/v1"');
    assert.is((e as KubeApiError).reason, 'NoKindMatch');
  }
});

test('the client refuses kubeconfigs that are missing or point at another context', async () => {
  assert.throws(
    () => KubeClient.fromKubeconfig('/nonexistent/kubeconfig'),
    /does not exist: create the cluster first/,
  );
  const path = await fake.writeKubeconfig('kind-someone-else');
  assert.throws(
    () => KubeClient.fromKubeconfig(path, { expectContext: 'kind-direktiv-tls-e2e' }),
    /refusing to act on another cluster/,
  );
});

test('wrong credentials are a 401 with a hint to regenerate the kubeconfig', async () => {
  const path = await fake.writeKubeconfig();
  await writeFile(path, (await readFile(path, 'utf8')).replace(fake.token, 'wrong-token'));
  const bad = KubeClient.fromKubeconfig(path);
  try {
    await bad.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'settings' });
    assert.unreachable();
  } catch (e) {
    const err = e as KubeApiError;
    assert.is(err.reason, 'Unauthorized');
    assert.match(err.message, 'kind get kubeconfig');
  }
});

test('applyAll orders namespaces and CRDs first and waits for a new CRD to be Established before its objects', async () => {
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.dev' },
    spec: {
      group: 'example.dev',
      scope: 'Namespaced',
      names: { kind: 'Widget', plural: 'widgets' },
      versions: [{ name: 'v1', served: true, storage: true }],
    },
  };
  const widget: KubeObject = {
    apiVersion: 'example.dev/v1',
    kind: 'Widget',
    metadata: { name: 'w1', namespace: 'fresh' },
    spec: { size: 3 },
  };
  const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh' } };
  const out = await client.applyAll([widget, crd, ns]);
  assert.equal(
    out.map((o) => o.kind),
    ['Namespace', 'CustomResourceDefinition', 'Widget'],
  );
  assert.equal(fake.getObject('example.dev/v1', 'Widget', 'fresh', 'w1')?.spec, { size: 3 });
});

test('deleteAll removes in reverse order and names every object it could not delete', async () => {
  const refs = ['a', 'b', 'c'].map((name) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: 'demo',
    name,
  }));
  for (const r of refs)
    await client.apply({ ...r, metadata: { name: r.name, namespace: 'demo' }, data: {} } as KubeObject);
  fake.intercept({
    method: 'DELETE',
    path: '/api/v1/namespaces/demo/configmaps/b',
    times: 1,
    respond: () => ({
      status: 500,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        code: 500,
        reason: 'InternalError',
        message: 'etcdserver: request timed out',
      },
    }),
  });
  try {
    await client.deleteAll(refs);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, 'teardown: 1 object(s) could not be deleted');
    assert.match((e as Error).message, 'delete ConfigMap demo/b failed: etcdserver: request timed out');
  }
  const order = fake.requests.filter((q) => q.method === 'DELETE').map((q) => q.path.split('/').at(-1));
  assert.equal(order.slice(-3), ['c', 'b', 'a']);
  assert.equal(await client.deleteAll(refs), ['ConfigMap demo/b']);
});

test('a stuck API server is a Timeout and an absent one is ConnectionRefused, each with what to do', async () => {
  const path = await fake.writeKubeconfig();
  const slow = KubeClient.fromKubeconfig(path, { requestTimeoutMs: 50 });
  fake.intercept({ path: '/api/v1/namespaces/demo/configmaps/stuck', times: 1, respond: () => 'hang' });
  try {
    await slow.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'stuck' });
    assert.unreachable();
  } catch (e) {
    assert.is((e as KubeApiError).reason, 'Timeout');
    assert.match((e as Error).message, 'no answer from the API server within 50 ms');
    assert.match((e as Error).message, 'overloaded or still starting');
  }
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const gone = await fake.writeKubeconfig();
  await writeFile(gone, (await readFile(gone, 'utf8')).replace(fake.url, `https://127.0.0.1:${port}`));
  try {
    await KubeClient.fromKubeconfig(gone).list('v1', 'Pod', { namespace: 'demo' });
    assert.unreachable();
  } catch (e) {
    assert.is((e as KubeApiError).reason, 'ConnectionRefused');
    assert.match((e as Error).message, 'list Pod in namespace demo failed');
    assert.match((e as Error).message, 'is the kind cluster running?');
  }
});

test.run();
