// Diagnostics collection against the fake API server: the folder holds events per namespace,
// a describe-like YAML of every object (tracked cluster-scoped ones included), logs of every
// container with the previous instance after a restart, Certificate/CertificateRequest status,
// and NO private key material anywhere (Secret values, annotations, logs, ConfigMaps).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import { collectDiagnostics } from '../../scripts/lib/k8s/diagnostics.ts';
import { redactText } from '../../scripts/lib/k8s/redact.ts';
import { CERT_MANAGER_TYPES, event, FakeKube, namespace, pod } from '../helpers/fake-kube.ts';
import { selfSignedServerCert } from '../helpers/fake-tls.ts';

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

test('the diagnostics folder holds events, objects, logs incl. previous, certificate status, and no key material', async () => {
  const fake = await FakeKube.start({ types: CERT_MANAGER_TYPES });
  const dir = await mkdtemp(join(tmpdir(), 'diag-'));
  try {
    const client = KubeClient.fromKubeconfig(await fake.writeKubeconfig());
    const { certPem, keyPem } = await selfSignedServerCert({
      commonName: 'flow',
      dnsNames: ['direktiv-flow-hl.default'],
    });
    const keyB64 = Buffer.from(keyPem).toString('base64');
    const keyBody = keyPem.split('\n')[1] as string;
    fake.put(namespace('direktiv'));
    // Objects the run created itself: through apply (tracked), one of them cluster-scoped.
    await client.apply({
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: 'direktiv-selfsigned' },
      spec: { selfSigned: {} },
    });
    await client.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'flow-tls',
        namespace: 'direktiv',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': `{"data":{"tls.key":"${keyB64}"}}`,
        },
      },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': Buffer.from(certPem).toString('base64'), 'tls.key': keyB64 },
      stringData: { 'ca.key': keyPem },
    });
    await client.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'leaky', namespace: 'direktiv' },
      data: { 'oops.pem': keyPem, fine: 'plain value' },
    });
    // Objects created by Helm or controllers: found by the namespace sweep.
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
    fake.put(
      event({
        namespace: 'direktiv',
        involved: { kind: 'Pod', name: 'direktiv-flow-1' },
        reason: 'BackOff',
        message: 'Back-off restarting failed container',
        count: 5,
      }),
    );
    const cert = fake.put({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'flow-cert', namespace: 'direktiv' },
      spec: {
        secretName: 'flow-tls',
        dnsNames: ['direktiv-flow-hl.default'],
        issuerRef: { name: 'direktiv-ca' },
      },
      status: {
        conditions: [{ type: 'Ready', status: 'False', reason: 'Issuing', message: 'Issuing certificate' }],
      },
    });
    fake.put({
      apiVersion: 'cert-manager.io/v1',
      kind: 'CertificateRequest',
      metadata: {
        name: 'flow-cert-1',
        namespace: 'direktiv',
        annotations: { 'cert-manager.io/certificate-name': 'flow-cert' },
        ownerReferences: [
          {
            apiVersion: 'cert-manager.io/v1',
            kind: 'Certificate',
            name: 'flow-cert',
            uid: (cert.metadata as { uid: string }).uid,
          },
        ],
      },
      spec: { request: 'LS0t' },
      status: {
        conditions: [{ type: 'Ready', status: 'False', reason: 'Pending', message: 'Waiting on issuer' }],
      },
    });

    const r = await collectDiagnostics(client, { dir });
    assert.equal(r.errors, []);
    const has = (f: string) => assert.ok(r.files.includes(f), `missing ${f} in ${r.files.join(', ')}`);
    has('README.md');
    has('events/direktiv.txt');
    has('objects/_cluster/ClusterIssuer.direktiv-selfsigned.yaml');
    has('objects/_cluster/Namespace.direktiv.yaml');
    has('objects/direktiv/Secret.flow-tls.yaml');
    has('objects/direktiv/Pod.direktiv-flow-1.yaml');
    has('objects/direktiv/Certificate.flow-cert.yaml');
    has('logs/direktiv/direktiv-flow-1/ingress.log');
    has('logs/direktiv/direktiv-flow-1/ingress.previous.log');
    has('logs/direktiv/direktiv-flow-1/secrets.log');
    has('cert-manager/certificates.yaml');
    assert.not.ok(
      r.files.includes('logs/direktiv/direktiv-flow-1/secrets.previous.log'),
      'no previous log without a restart',
    );

    const read = (f: string) => readFile(join(dir, f), 'utf8');
    assert.match(
      await read('events/direktiv.txt'),
      'Pod/direktiv-flow-1  event Warning BackOff (x5): Back-off restarting failed container',
    );
    const podDump = await read('objects/direktiv/Pod.direktiv-flow-1.yaml');
    assert.match(
      podDump,
      '# problem: pod direktiv-flow-1 container ingress: CrashLoopBackOff: back-off 20s (restarts 3); last exit: Error code 1',
    );
    assert.match(podDump, '# event Warning BackOff (x5)');
    assert.match(podDump, 'kind: Pod');
    assert.match(await read('logs/direktiv/direktiv-flow-1/ingress.previous.log'), 'failed to create server');
    const certs = await read('cert-manager/certificates.yaml');
    assert.match(certs, 'certificate: direktiv/flow-cert');
    assert.match(certs, 'ready: "Ready=False (Issuing: Issuing certificate)"');
    assert.match(certs, 'name: flow-cert-1');
    assert.match(certs, 'message: Waiting on issuer');
    const secret = await read('objects/direktiv/Secret.flow-tls.yaml');
    assert.match(secret, 'tls.key: "<redacted:');
    assert.match(secret, 'ca.key: "<redacted:');
    assert.match(await read('objects/direktiv/ConfigMap.leaky.yaml'), 'fine: plain value');
    assert.match(await read('README.md'), 'Everything was collected.');

    // No private key material anywhere in the folder, in any encoding.
    for (const f of await allFiles(dir)) {
      const text = await readFile(f, 'utf8');
      assert.not.ok(text.includes('PRIVATE KEY-----'), `PEM key header in ${f}`);
      assert.not.ok(text.includes(keyBody), `key body in ${f}`);
      assert.not.ok(text.includes(keyB64.slice(0, 60)), `base64 key in ${f}`);
    }
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
