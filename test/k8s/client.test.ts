// The client's answer when the API server cannot answer at all: a server that accepts and never
// replies (a fault a real kube-apiserver cannot be made to produce on demand, so the fake stands
// in; see fake-kube.ts's header) and a closed port. Everything the real kube-apiserver can
// answer is tested against it in test/control-plane/k8s-client.test.ts.

import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import type { KubeApiError } from '../../scripts/lib/k8s/errors.ts';
import { FakeKube, namespace } from '../helpers/fake-kube.ts';

let fake: FakeKube;

test.before(async () => {
  fake = await FakeKube.start();
  fake.put(namespace('demo'));
});
test.after(async () => {
  await fake.close();
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
