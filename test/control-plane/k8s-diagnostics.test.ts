// Diagnostics collection against the real control plane: events the scheduler and cert-manager
// wrote, a describe-like YAML of every object (tracked cluster-scoped ones included), container
// logs served by kwok's kubelet server through the API server, the status real cert-manager gave
// a Certificate and its CertificateRequest, and NO private key material anywhere.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import { collectDiagnostics } from '../../scripts/lib/k8s/diagnostics.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import { waitFor } from '../../scripts/lib/k8s/wait.ts';
import { selfSignedServerCert } from '../helpers/fake-tls.ts';
import { criLog, freshNamespace, sharedCertManager, sharedCluster } from './helpers/shared-cluster.ts';

const NS = 'diag-check';

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

const pod = (name: string, containers: string[], extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS },
  spec: { containers: containers.map((c) => ({ name: c, image: 'registry.invalid/direktiv:1' })), ...extra },
});

test('the diagnostics folder holds events, objects, logs, certificate status, and no key material', async () => {
  const shared = await sharedCluster();
  // A client of its own: its tracker holds exactly what this test created.
  const client = KubeClient.fromKubeconfig(shared.cp.kubeconfig);
  await sharedCertManager(shared);
  await freshNamespace(client, NS);
  const dir = await mkdtemp(join(tmpdir(), 'diag-'));
  try {
    const { certPem, keyPem } = await selfSignedServerCert({
      commonName: 'flow',
      dnsNames: ['direktiv-flow-hl.default'],
    });
    const keyB64 = Buffer.from(keyPem).toString('base64');
    const keyBody = keyPem.split('\n')[1] as string;
    // Objects the run created itself: through apply (tracked), one of them cluster-scoped.
    await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.apply({
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: 'diag-selfsigned' },
      spec: { selfSigned: {} },
    });
    await client.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'flow-tls',
        namespace: NS,
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
      metadata: { name: 'leaky', namespace: NS },
      data: { 'oops.pem': keyPem, fine: 'plain value' },
    });
    // A Certificate whose issuer does not exist: real cert-manager makes a CertificateRequest
    // and leaves both not Ready, saying why.
    await client.apply({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'flow-cert', namespace: NS },
      spec: {
        secretName: 'flow-cert-tls',
        dnsNames: ['direktiv-flow-hl.default'],
        issuerRef: { name: 'direktiv-ca', kind: 'Issuer' },
      },
    });
    // Objects made by others (found by the namespace sweep): a pod kwok runs, whose logs kwok's
    // kubelet server serves from files, and a pod no node can take.
    const logFile = (c: string) => join(shared.scratch, `${NS}-${c}.log`);
    await writeFile(
      logFile('ingress'),
      criLog(`starting engine\nlistening on :6666\nloaded key:\n${keyPem}`),
    );
    await writeFile(logFile('secrets'), criLog('secrets ready\n'));
    await shared.client.apply({
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'Logs',
      metadata: { name: 'direktiv-flow-1', namespace: NS },
      spec: {
        logs: ['ingress', 'secrets'].map((c) => ({ containers: [c], logsFile: logFile(c) })),
      },
    });
    await shared.client.apply(pod('direktiv-flow-1', ['ingress', 'secrets']));
    await shared.client.apply(
      pod('unscheduled', ['main'], { nodeSelector: { 'direktiv-tls.example/no-such-node': 'x' } }),
    );
    await waitFor(
      'the pods, the scheduler event and cert-manager settled',
      async () => {
        const pending = [];
        const p = await client.get({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'direktiv-flow-1' });
        if ((p.status as { phase?: string }).phase !== 'Running')
          pending.push({ object: 'pod direktiv-flow-1', why: 'not Running' });
        const evs = await client.list('v1', 'Event', { namespace: NS });
        if (!evs.some((e) => (e as { reason?: string }).reason === 'FailedScheduling'))
          pending.push({ object: 'pod unscheduled', why: 'no FailedScheduling event yet' });
        const crs = await client.list('cert-manager.io/v1', 'CertificateRequest', { namespace: NS });
        const crReady =
          crs[0] &&
          (crs[0].status as { conditions?: { type: string; reason?: string }[] })?.conditions?.find(
            (c) => c.type === 'Ready',
          );
        if (crReady?.reason !== 'Pending')
          pending.push({ object: 'CertificateRequest', why: 'not judged yet' });
        return { ready: pending.length === 0, pending };
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    const r = await collectDiagnostics(client, { dir });
    assert.equal(r.errors, []);
    const has = (f: string) => assert.ok(r.files.includes(f), `missing ${f} in ${r.files.join(', ')}`);
    has('README.md');
    has(`events/${NS}.txt`);
    has('objects/_cluster/ClusterIssuer.diag-selfsigned.yaml');
    has(`objects/_cluster/Namespace.${NS}.yaml`);
    has(`objects/${NS}/Secret.flow-tls.yaml`);
    has(`objects/${NS}/Pod.direktiv-flow-1.yaml`);
    has(`objects/${NS}/Pod.unscheduled.yaml`);
    has(`objects/${NS}/Certificate.flow-cert.yaml`);
    has(`logs/${NS}/direktiv-flow-1/ingress.log`);
    has(`logs/${NS}/direktiv-flow-1/secrets.log`);
    has('cert-manager/certificates.yaml');
    assert.not.ok(
      r.files.includes(`logs/${NS}/direktiv-flow-1/ingress.previous.log`),
      'no previous log without a restart',
    );

    const read = (f: string) => readFile(join(dir, f), 'utf8');
    assert.match(
      await read(`events/${NS}.txt`),
      /Pod\/unscheduled {2}event Warning FailedScheduling: 0\/1 nodes are available/,
    );
    const podDump = await read(`objects/${NS}/Pod.unscheduled.yaml`);
    assert.match(
      podDump,
      '# problem: pod unscheduled: not scheduled: Unschedulable: 0/1 nodes are available',
    );
    assert.match(podDump, '# event Warning FailedScheduling');
    assert.match(podDump, 'kind: Pod');
    assert.match(await read(`logs/${NS}/direktiv-flow-1/ingress.log`), 'listening on :6666');
    assert.match(await read(`logs/${NS}/direktiv-flow-1/secrets.log`), 'secrets ready');
    const certs = await read('cert-manager/certificates.yaml');
    assert.match(certs, `certificate: ${NS}/flow-cert`);
    assert.match(certs, /ready: "Ready=False \(\w+: /);
    // Real cert-manager names the request after the Certificate with a random suffix.
    assert.match(certs, /name: flow-cert-[a-z0-9]{5}\n/);
    assert.match(certs, 'Referenced "Issuer" not found');
    const secret = await read(`objects/${NS}/Secret.flow-tls.yaml`);
    assert.match(secret, 'tls.key: "<redacted:');
    assert.match(secret, 'ca.key: "<redacted:');
    assert.match(await read(`objects/${NS}/ConfigMap.leaky.yaml`), 'fine: plain value');
    assert.match(await read('README.md'), 'Everything was collected.');

    // No private key material anywhere in the folder, in any encoding.
    for (const f of await allFiles(dir)) {
      const text = await readFile(f, 'utf8');
      assert.not.ok(text.includes('PRIVATE KEY-----'), `PEM key header in ${f}`);
      assert.not.ok(text.includes(keyBody), `key body in ${f}`);
      assert.not.ok(text.includes(keyB64.slice(0, 60)), `base64 key in ${f}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
