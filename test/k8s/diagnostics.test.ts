// Diagnostics collection for what the real control plane cannot produce (see fake-kube.ts's
// header): a container that restarted, whose previous log must be collected (kwok v0.6 neither
// restarts containers nor serves a previous log), and an API call that fails mid-collection.
// Plus the redactor itself. Everything else runs against the real control plane in
// test/control-plane/k8s-diagnostics.test.ts.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import { collectDiagnostics } from '../../scripts/lib/k8s/diagnostics.ts';
import { redactText } from '../../scripts/lib/k8s/redact.ts';
import { FakeKube, namespace, pod } from '../helpers/fake-kube.ts';
import { selfSignedServerCert } from '../helpers/fake-tls.ts';

async function _allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

test('a restarted container: its previous log is collected, redacted, beside the current one', async () => {
  const fake = await FakeKube.start();
  const dir = await mkdtemp(join(tmpdir(), 'diag-'));
  try {
    const client = KubeClient.fromKubeconfig(await fake.writeKubeconfig());
    const { keyPem } = await selfSignedServerCert({ commonName: 'flow' });
    const keyBody = keyPem.split('\n')[1] as string;
    fake.put(namespace('direktiv'));
    fake.put(
      pod({
        namespace: 'direktiv',
        name: 'direktiv-flow-1',
        containers: ['ingress', 'secrets'],
        waiting: { container: 'ingress', reason: 'CrashLoopBackOff', message: 'back-off 20s' },
        terminated: { container: 'ingress', reason: 'Error', exitCode: 1 },
        restarts: 3,
      }),
    );
    fake.setLog('direktiv', 'direktiv-flow-1', 'ingress', 'starting engine\nlistening on :6666\n');
    fake.setLog(
      'direktiv',
      'direktiv-flow-1',
      'ingress',
      `failed to create server\nloaded key:\n${keyPem}`,
      true,
    );
    fake.setLog('direktiv', 'direktiv-flow-1', 'secrets', 'secrets ready\n');
    const r = await collectDiagnostics(client, { dir, namespaces: ['direktiv'], objects: [] });
    assert.equal(r.errors, []);
    for (const f of ['ingress.log', 'ingress.previous.log', 'secrets.log'])
      assert.ok(r.files.includes(`logs/direktiv/direktiv-flow-1/${f}`), `${f} in ${r.files.join(', ')}`);
    assert.not.ok(
      r.files.includes('logs/direktiv/direktiv-flow-1/secrets.previous.log'),
      'no previous log without a restart',
    );
    const previous = await readFile(join(dir, 'logs/direktiv/direktiv-flow-1/ingress.previous.log'), 'utf8');
    assert.match(previous, 'failed to create server');
    assert.not.ok(previous.includes(keyBody), 'the key in the log is redacted');
    assert.match(
      await readFile(join(dir, 'objects/direktiv/Pod.direktiv-flow-1.yaml'), 'utf8'),
      '# problem: pod direktiv-flow-1 container ingress: CrashLoopBackOff: back-off 20s (restarts 3); last exit: Error code 1',
    );
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('redactText removes PEM and base64-encoded private keys but keeps certificates', async () => {
  const { certPem, keyPem } = await selfSignedServerCert({ commonName: 'x' });
  const text = `cert:\n${certPem}key:\n${keyPem}b64: ${Buffer.from(keyPem).toString('base64')}\ncertb64: ${Buffer.from(certPem).toString('base64')}\n`;
  const out = redactText(text);
  assert.match(out, '-----BEGIN CERTIFICATE-----');
  assert.match(out, Buffer.from(certPem).toString('base64'));
  assert.not.match(out, 'PRIVATE KEY');
  assert.is(out.split('<redacted private key>').length - 1, 2);
});

test('collection failures are listed, not thrown: the rest is still collected', async () => {
  const fake = await FakeKube.start();
  const dir = await mkdtemp(join(tmpdir(), 'diag-'));
  try {
    const client = KubeClient.fromKubeconfig(await fake.writeKubeconfig());
    fake.put(namespace('demo'));
    fake.put(pod({ namespace: 'demo', name: 'p', containers: ['main'] }));
    fake.intercept({
      path: '/api/v1/namespaces/demo/events',
      respond: () => ({
        status: 503,
        body: { kind: 'Status', code: 503, reason: 'ServiceUnavailable', message: 'etcd is down' },
      }),
    });
    const r = await collectDiagnostics(client, { dir, namespaces: ['demo'], objects: [] });
    assert.ok(r.errors.some((e) => e.startsWith('events of namespace demo:') && e.includes('etcd is down')));
    assert.ok(
      r.errors.some((e) => e.startsWith('log of demo/p container main:') && e.includes('ContainerCreating')),
    );
    assert.ok(r.files.includes('objects/demo/Pod.p.yaml'));
    assert.match(await readFile(join(dir, 'README.md'), 'utf8'), '## Not collected');
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
