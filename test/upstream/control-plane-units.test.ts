// Fast checks of the control plane's own pieces (the processes themselves run in the
// control-plane tier): its PKI, the kubelet-style argument expansion, the issued-Secret check.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SecretMount } from '../../scenarios/direktiv-chart-model.ts';
import { expandArgs } from '../../scripts/lib/control-plane/cert-manager.ts';
import { checkIssuedSecrets } from '../../scripts/lib/control-plane/issued.ts';
import { writePki } from '../../scripts/lib/control-plane/pki.ts';
import type { KubeClient } from '../../scripts/lib/k8s/client.ts';

test('PKI: the API server certificate carries every name it is dialled by, chains to the CA; keys are 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cp-pki-'));
  try {
    const pki = await writePki(join(dir, 'pki'));
    const ca = new X509Certificate(await readFile(pki.caCert));
    const api = new X509Certificate(await readFile(pki.leaf.apiserver!.cert));
    assert.ok(api.checkIssued(ca) && api.verify(ca.publicKey));
    for (const n of ['localhost', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'])
      assert.is(api.checkHost(n), n);
    assert.is(api.checkIP('127.0.0.1'), '127.0.0.1');
    assert.is(api.checkHost('example.com'), undefined);
    const admin = new X509Certificate(await readFile(pki.leaf.admin!.cert));
    assert.match(admin.subject, 'O=system:masters');
    for (const key of [pki.caKey, pki.saPrivate, pki.leaf.admin!.key, pki.leaf.apiserver!.key]) {
      assert.is((await stat(key)).mode & 0o777, 0o600, key);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('container args: $(VAR) expands from the env, unknown ones stay as the kubelet leaves them', () => {
  assert.equal(
    expandArgs(['--ns=$(POD_NAMESPACE)', '--x=$(NOPE)', 'plain'], { POD_NAMESPACE: 'cert-manager' }),
    ['--ns=cert-manager', '--x=$(NOPE)', 'plain'],
  );
});

const mount = (over: Partial<SecretMount>): SecretMount => ({
  component: 'engine',
  workload: 'Deployment d/direktiv-flow',
  container: 'flow',
  namespace: 'd',
  secretName: 's',
  role: 'server',
  path: 'api->engine',
  dialNames: ['direktiv-ingress-hl.d'],
  reads: { keyPair: true, caCrt: true },
  needs: { serverAuth: true, clientAuth: false },
  value: 'flow.certificates.ingress',
  source: 'test',
  ...over,
});

/** A client that only answers getOrNull from a map of Secrets. */
function secrets(map: Record<string, Record<string, string>>): KubeClient {
  return {
    getOrNull: async (ref: { namespace?: string; name: string }) => {
      const data = map[`${ref.namespace}/${ref.name}`];
      return data
        ? {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: ref.name },
            data: Object.fromEntries(
              Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
            ),
          }
        : null;
    },
  } as unknown as KubeClient;
}

test('issued-Secret check: a good Secret passes; a missing Secret, key, SAN or foreign CA each fire', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cp-issued-'));
  try {
    // The PKI's loopback certificate stands for an issued one: SANs localhost and 127.0.0.1.
    const pki = await writePki(join(dir, 'a'));
    const other = await writePki(join(dir, 'b'));
    const crt = await readFile(pki.leaf['loopback-serving']!.cert, 'utf8');
    const ca = await readFile(pki.caCert, 'utf8');
    const good = { 'tls.crt': crt, 'tls.key': 'present', 'ca.crt': ca };
    const m = mount({ dialNames: ['localhost'] });
    assert.equal(await checkIssuedSecrets(secrets({ 'd/s': good }), [m]), []);
    const checks = async (data: Record<string, string> | undefined, mm = m) =>
      (await checkIssuedSecrets(secrets(data ? { 'd/s': data } : {}), [mm])).map((p) => p.check);
    assert.equal(await checks(undefined), ['missing-secret']);
    assert.equal(await checks({ 'tls.crt': crt, 'tls.key': 'present' }), ['missing-key']);
    assert.equal(await checks(good, mount({ dialNames: ['direktiv-ingress-hl.d'] })), ['san']);
    assert.equal(await checks({ ...good, 'ca.crt': await readFile(other.caCert, 'utf8') }), ['trust']);
    // A client-auth-only certificate where a server one is needed (the admin certificate).
    const client = await readFile(pki.leaf.admin!.cert, 'utf8');
    assert.equal(await checks({ ...good, 'tls.crt': client }, mount({ dialNames: [] })), ['usage']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
