// The Kubernetes client against the real kube-apiserver v1.24.17 (shared control plane):
// server-side apply creating then updating with the harness's field manager, field-manager
// conflicts, get/list with selectors, 404/409/422/401 and unknown kinds mapped to clear errors,
// CRDs Established before their objects, and a delete refused by a real admission webhook.
import { createServer, type Server } from 'node:https';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIELD_MANAGER, KubeClient } from '../../scripts/lib/k8s/client.ts';
import { KubeApiError } from '../../scripts/lib/k8s/errors.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';
import { selfSignedServerCert } from '../helpers/fake-tls.ts';
import {
  freshNamespace,
  kubeconfigVariant,
  renameContext,
  type SharedCluster,
  sharedCluster,
} from './helpers/shared-cluster.ts';

const NS = 'client-check';
let shared: SharedCluster;
let client: KubeClient;

test.before(async () => {
  shared = await sharedCluster();
  client = KubeClient.fromKubeconfig(
    await kubeconfigVariant(shared, 'client', renameContext('kind-direktiv-tls-e2e')),
    { expectContext: 'kind-direktiv-tls-e2e' },
  );
  await freshNamespace(client, NS);
  // cert-manager's own CRDs (rendered from its module's chart), for the schema the 422 comes from.
  const crds = (await shared.cp.certManagerManifests(await testHelm())).filter(
    (o) => o.kind === 'CustomResourceDefinition',
  );
  await client.applyAll(crds);
});

const cm = (data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: NS, labels: { app: 'harness' } },
  data,
});

type ManagedField = { manager: string; operation: string; fieldsV1?: { 'f:data'?: Record<string, unknown> } };
const managers = (o: KubeObject) =>
  ((o.metadata as { managedFields?: ManagedField[] }).managedFields ?? []).map(
    (m) => `${m.manager}:${m.operation}`,
  );

test('server-side apply creates, then updates the same object, with the harness field manager', async () => {
  const created = await client.apply(cm({ a: '1' }));
  assert.is(created.metadata.uid !== undefined, true);
  const rv1 = Number(created.metadata.resourceVersion);
  // The API server recorded a server-side apply (operation Apply) by the harness's manager.
  assert.equal(managers(created), [`${FIELD_MANAGER}:Apply`]);

  const updated = await client.apply(cm({ a: '2', b: '3' }));
  assert.equal(updated.data, { a: '2', b: '3' });
  assert.is(updated.metadata.uid, created.metadata.uid);
  assert.ok(Number(updated.metadata.resourceVersion) > rv1);
  assert.equal(managers(updated), [`${FIELD_MANAGER}:Apply`]);
  // A field the manager stops applying is removed (apply is declarative).
  const shrunk = await client.apply(cm({ a: '2' }));
  assert.equal(shrunk.data, { a: '2' });
  assert.ok(client.tracker.refs().some((r) => r.kind === 'ConfigMap' && r.name === 'settings'));
  assert.ok(client.tracker.namespaces().includes(NS));
});

test('apply without force reports a field-manager conflict as a clear 409 error; force takes the field over', async () => {
  const obj = (k: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'owned', namespace: NS },
    data: { k },
  });
  await client.apply(obj('helm'), { fieldManager: 'helm' });
  try {
    await client.apply(obj('harness'), { force: false });
    assert.unreachable('apply without force must conflict');
  } catch (e) {
    assert.instance(e, KubeApiError);
    const err = e as KubeApiError;
    assert.is(err.reason, 'Conflict');
    assert.is(err.code, 409);
    assert.match(err.message, `apply ConfigMap ${NS}/owned failed`);
    assert.match(err.message, 'conflict with "helm"');
    assert.match(err.message, '.data.k');
    assert.match(err.message, 'force');
  }
  const forced = await client.apply(obj('harness'));
  assert.equal(forced.data, { k: 'harness' });
  // The field moved to the harness: helm no longer owns .data.k.
  const helm = ((forced.metadata as { managedFields?: ManagedField[] }).managedFields ?? []).find(
    (m) => m.manager === 'helm',
  );
  assert.not.ok(helm?.fieldsV1?.['f:data']?.['f:k'], 'helm lost .data.k');
});

test('get answers the object; a missing one is a NotFound naming kind, namespace and name', async () => {
  const got = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'settings' });
  assert.is(got.metadata.name, 'settings');
  assert.is(await client.getOrNull({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'nope' }), null);
  try {
    await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'ghost' });
    assert.unreachable();
  } catch (e) {
    const err = e as KubeApiError;
    assert.is(err.reason, 'NotFound');
    assert.is(err.code, 404);
    assert.match(
      err.message,
      `get Deployment ${NS}/ghost failed: deployments.apps "ghost" not found (HTTP 404 NotFound)`,
    );
    assert.is(err.status?.kind, 'Status');
  }
});

test('create of an existing object is AlreadyExists; delete is idempotent', async () => {
  const obj: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'once', namespace: NS },
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
  assert.is(await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'once' }), true);
  assert.is(await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'once' }), false);
});

test("an invalid object is a 422 listing each field and why (cert-manager's real CRD schema)", async () => {
  const bad: KubeObject = {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'api-cert', namespace: NS },
    spec: { dnsNames: ['a.example'], issuerRef: {} },
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
  // A dry run is validated in full and stores nothing.
  const ok = { ...bad, spec: { dnsNames: ['a.example'], secretName: 's', issuerRef: { name: 'ca' } } };
  const dry = await client.apply(ok, { dryRun: true });
  assert.is(dry.metadata.name, 'api-cert');
  assert.is(
    await client.getOrNull({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      namespace: NS,
      name: 'api-cert',
    }),
    null,
  );
});

test('list filters by label selector and restores apiVersion/kind on items', async () => {
  await client.apply({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'other', namespace: NS, labels: { app: 'else' } },
    data: {},
  });
  const mine = await client.list('v1', 'ConfigMap', { namespace: NS, labelSelector: 'app=harness' });
  assert.equal(
    mine.map((o) => o.metadata.name),
    ['settings'],
  );
  assert.is(mine[0]?.kind, 'ConfigMap');
  assert.is(mine[0]?.apiVersion, 'v1');
  const notMine = await client.list('v1', 'ConfigMap', { namespace: NS, labelSelector: 'app!=harness' });
  assert.ok(notMine.some((o) => o.metadata.name === 'other'));
  assert.not.ok(notMine.some((o) => o.metadata.name === 'settings'));
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
      metadata: { name: 'x', namespace: NS },
    });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, `apply Service ${NS}/x failed`);
    assert.match((e as Error).message, 'no matches for kind "Service" in version "serving.knative.dev/v1"');
    assert.is((e as KubeApiError).reason, 'NoKindMatch');
  }
});

test('the client refuses kubeconfigs that are missing or point at another context', async () => {
  assert.throws(
    () => KubeClient.fromKubeconfig('/nonexistent/kubeconfig'),
    /does not exist: create the cluster first/,
  );
  const path = await kubeconfigVariant(shared, 'someone-else', renameContext('kind-someone-else'));
  assert.throws(
    () => KubeClient.fromKubeconfig(path, { expectContext: 'kind-direktiv-tls-e2e' }),
    /refusing to act on another cluster/,
  );
});

test('wrong credentials are a 401 from the API server, with a hint to regenerate the kubeconfig', async () => {
  const path = await kubeconfigVariant(shared, 'wrong-token', (kc) => {
    for (const u of kc.users) u.user = { token: 'wrong-token' };
  });
  try {
    await KubeClient.fromKubeconfig(path).get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: NS,
      name: 'settings',
    });
    assert.unreachable();
  } catch (e) {
    const err = e as KubeApiError;
    assert.is(err.reason, 'Unauthorized');
    assert.is(err.code, 401);
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
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
            },
          },
        },
      ],
    },
  };
  const widget: KubeObject = {
    apiVersion: 'example.dev/v1',
    kind: 'Widget',
    metadata: { name: 'w1', namespace: 'client-check-fresh' },
    spec: { size: 3 },
  };
  const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'client-check-fresh' } };
  const out = await client.applyAll([widget, crd, ns]);
  assert.equal(
    out.map((o) => o.kind),
    ['Namespace', 'CustomResourceDefinition', 'Widget'],
  );
  const got = await client.get({
    apiVersion: 'example.dev/v1',
    kind: 'Widget',
    namespace: 'client-check-fresh',
    name: 'w1',
  });
  assert.equal(got.spec, { size: 3 });
  const established = (
    (
      await client.get({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: crd.metadata.name!,
      })
    ).status as { conditions?: { type: string; status: string }[] }
  ).conditions?.find((c) => c.type === 'Established');
  assert.is(established?.status, 'True');
});

/**
 * A real validating admission webhook (HTTPS on loopback, registered with its CA) that refuses
 * (once) to delete ConfigMap `b` of this namespace and records every DELETE it is asked about.
 */
async function denyDeleteWebhook(): Promise<{ server: Server; seen: string[]; caBundle: string }> {
  const { certPem, keyPem } = await selfSignedServerCert({
    commonName: 'localhost',
    dnsNames: ['localhost'],
  });
  const seen: string[] = [];
  let refusedOnce = false;
  const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const review = JSON.parse(body) as { request: { uid: string; name: string; operation: string } };
      const { uid, name, operation } = review.request;
      if (operation === 'DELETE') seen.push(name);
      // Refused once, as a transient server fault would be: the retry succeeds.
      const allowed = !(operation === 'DELETE' && name === 'b' && !refusedOnce);
      if (!allowed) refusedOnce = true;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid,
            allowed,
            ...(allowed ? {} : { status: { code: 500, message: 'etcdserver: request timed out' } }),
          },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, seen, caBundle: Buffer.from(certPem).toString('base64') };
}

test('deleteAll removes in reverse order and names every object the API server refused to delete', async () => {
  const refs = ['a', 'b', 'c'].map((name) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name }));
  for (const r of refs)
    await client.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: r.name, namespace: NS },
      data: {},
    });
  const hook = await denyDeleteWebhook();
  const port = (hook.server.address() as { port: number }).port;
  const webhookRef = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    name: 'client-check-deny-delete',
  };
  try {
    await client.apply({
      apiVersion: webhookRef.apiVersion,
      kind: webhookRef.kind,
      metadata: { name: webhookRef.name },
      webhooks: [
        {
          name: 'deny-delete.client-check.example',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          clientConfig: { url: `https://localhost:${port}/validate`, caBundle: hook.caBundle },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
          rules: [
            { apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE'], resources: ['configmaps'] },
          ],
        },
      ],
    } as KubeObject);
    try {
      await client.deleteAll(refs);
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, 'teardown: 1 object(s) could not be deleted');
      assert.match((e as Error).message, `delete ConfigMap ${NS}/b failed:`);
      assert.match((e as Error).message, 'etcdserver: request timed out');
    }
    assert.equal(hook.seen.slice(0, 3), ['c', 'b', 'a']);
    assert.equal(await client.deleteAll(refs), [`ConfigMap ${NS}/b`]);
  } finally {
    await client.delete(webhookRef);
    hook.server.close();
  }
  assert.equal(await client.deleteAll(refs), []);
});

test.run();
