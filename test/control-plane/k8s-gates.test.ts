// Waits and readiness gates against the real control plane: the deployment and ReplicaSet
// controllers, the scheduler and kwok decide when a Deployment or DaemonSet is available; real
// cert-manager decides when a Certificate is Ready. Gates that pass once the cluster catches up,
// and timeouts that name each pending object and why (its condition, its pods, its events).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeClient } from '../../scripts/lib/k8s/client.ts';
import {
  certificatesReadyGate,
  deploymentsAvailableGate,
  knativeChartCheck,
  knativeChartGate,
  patchEnvoyNodePorts,
} from '../../scripts/lib/k8s/gates.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import { WaitTimeoutError } from '../../scripts/lib/k8s/wait.ts';
import {
  deployment,
  freshNamespace,
  type SharedCluster,
  sharedCertManager,
  sharedCluster,
} from './helpers/shared-cluster.ts';

let shared: SharedCluster;
let client: KubeClient;

test.before(async () => {
  shared = await sharedCluster();
  client = shared.client;
});

async function expectTimeout(p: Promise<unknown>): Promise<WaitTimeoutError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, WaitTimeoutError);
    return e as WaitTimeoutError;
  }
  throw new Error('expected a WaitTimeoutError');
}

/** No node carries this label: the scheduler leaves such pods Pending (FailedScheduling). */
const NOWHERE = { nodeSelector: { 'direktiv-tls.example/no-such-node': 'x' } };

test('a Deployment that rolls out on the kwok node passes the gate', async () => {
  await freshNamespace(client, 'gates-rollout');
  await client.apply(deployment('gates-rollout', 'direktiv-api', { replicas: 2 }));
  const r = await deploymentsAvailableGate(client, {
    namespace: 'gates-rollout',
    expect: ['direktiv-api'],
    timeoutMs: 90_000,
  });
  assert.is(r.gate, 'deployments-available');
  const d = await client.get({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'gates-rollout',
    name: 'direktiv-api',
  });
  assert.is((d.status as { availableReplicas?: number }).availableReplicas, 2);
});

test('a Deployment that never becomes available times out naming the object, its condition, its pods and events', async () => {
  const ns = 'gates-stuck';
  await freshNamespace(client, ns);
  await client.apply(deployment(ns, 'direktiv-api', { podSpec: NOWHERE }));
  await client.apply(deployment(ns, 'direktiv'));
  // The one a node can run rolls out; only then is the other one the sole pending object.
  await deploymentsAvailableGate(client, { namespace: ns, labelSelector: 'app=direktiv', timeoutMs: 90_000 });
  const err = await expectTimeout(deploymentsAvailableGate(client, { namespace: ns, timeoutMs: 20_000 }));
  // The one that rolled out is not pending; the one without a node is.
  assert.equal(
    err.pending.map((p) => p.object),
    [`Deployment ${ns}/direktiv-api`],
    err.message,
  );
  const m = err.message;
  assert.match(m, `waiting for every Deployment in ${ns} available; 1 still not ready`);
  assert.match(
    m,
    `Deployment ${ns}/direktiv-api: 0 of 1 updated replicas available; Available=False (MinimumReplicasUnavailable`,
  );
  assert.match(
    m,
    /pod direktiv-api-[a-z0-9]+-[a-z0-9]+: not scheduled: Unschedulable: 0\/1 nodes are available/,
  );
  assert.match(
    m,
    /direktiv-api-[a-z0-9]+-[a-z0-9]+: event Warning FailedScheduling: 0\/1 nodes are available/,
  );
  assert.match(m, /event Normal ScalingReplicaSet: Scaled up replica set direktiv-api-[a-z0-9]+ to 1/);
  assert.match(m, 'What to do:');
  assert.match(m, 'A pod cannot be scheduled');
  assert.not.match(m, `Deployment ${ns}/direktiv:`);
});

/** Direktiv's Knative chart's objects, as its controllers leave them (the certgen Secrets, Contour, Envoy, Knative). */
async function seedKnative(opts: { complete: boolean }): Promise<void> {
  for (const ns of ['contour-external', 'contour-internal']) {
    await client.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'contourcert', namespace: ns },
      data: {},
    });
    if (opts.complete || ns === 'contour-external')
      await client.apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'envoycert', namespace: ns },
        data: {},
      });
    await client.apply(deployment(ns, 'contour'));
    await client.apply({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'envoy', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 'envoy' } },
        template: {
          metadata: { labels: { app: 'envoy' } },
          spec: {
            containers: [{ name: 'envoy', image: 'registry.invalid/envoy:1' }],
            ...(opts.complete ? {} : NOWHERE),
          },
        },
      },
    });
  }
  for (const n of [
    'activator',
    'autoscaler',
    'controller',
    'webhook',
    ...(opts.complete ? ['net-contour-controller'] : []),
  ])
    await client.apply(deployment('knative-serving-knative', n));
}

test('Knative chart check names the missing certgen Secret, the Envoy no node runs and the missing net-contour controller', async () => {
  for (const ns of ['contour-external', 'contour-internal', 'knative-serving-knative'])
    await freshNamespace(client, ns);
  await seedKnative({ complete: false });
  // Let the controllers act (Deployments roll out, the DaemonSet finds no node).
  await expectTimeout(knativeChartGate(client, { timeoutMs: 15_000 }));
  const r = await knativeChartCheck(client);
  assert.is(r.ready, false);
  const lines = r.pending.map((p) => `${p.object}: ${p.why}`);
  assert.ok(
    lines.some((l) => l.startsWith('Secret contour-internal/envoycert: not created yet')),
    lines.join('\n'),
  );
  for (const ns of ['contour-external', 'contour-internal'])
    assert.ok(
      lines.includes(`DaemonSet ${ns}/envoy: no node is scheduled to run it (desiredNumberScheduled 0)`),
      lines.join('\n'),
    );
  assert.ok(
    lines.includes(
      'Deployment knative-serving-knative/net-contour-controller: not found (expected from the Knative chart)',
    ),
    lines.join('\n'),
  );
  assert.is(r.pending.length, 4, lines.join('\n'));
});

test('Knative chart gate passes once certgen and rollouts complete (the certgen Job itself is gone)', async () => {
  await seedKnative({ complete: true });
  const r = await knativeChartGate(client, { timeoutMs: 90_000 });
  assert.is(r.gate, 'knative-chart');
  assert.is((await knativeChartCheck(client)).pending.length, 0);
});

test('Envoy NodePorts are pinned with a guarded JSON patch, idempotently', async () => {
  await client.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'envoy', namespace: 'contour-external' },
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      selector: { app: 'envoy' },
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 },
      ],
    },
  });
  // The API server allocated node ports of its own choosing.
  const before = await client.get({
    apiVersion: 'v1',
    kind: 'Service',
    namespace: 'contour-external',
    name: 'envoy',
  });
  const allocated = (before.spec as { ports: { nodePort: number }[] }).ports.map((p) => p.nodePort);
  assert.ok(
    allocated.every((p) => p >= 30000 && p <= 32767),
    allocated.join(', '),
  );
  const first = await patchEnvoyNodePorts(client);
  assert.equal(first, { http: 31080, https: 31443, changed: true });
  const svc = await client.get({
    apiVersion: 'v1',
    kind: 'Service',
    namespace: 'contour-external',
    name: 'envoy',
  });
  assert.equal(
    (svc.spec as { ports: { nodePort: number }[] }).ports.map((p) => p.nodePort),
    [31080, 31443],
  );
  assert.equal(await patchEnvoyNodePorts(client), { http: 31080, https: 31443, changed: false });
});

// ---- every Certificate Ready, decided by real cert-manager --------------------------------------

const CERT_NS = 'gates-certs';
const cert = (name: string, issuer: { name: string; kind: string }): KubeObject => ({
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: { name, namespace: CERT_NS },
  spec: { secretName: name, dnsNames: [`${name}.example`], issuerRef: issuer },
});

test('every Certificate Ready: passes when real cert-manager has issued each one', async () => {
  await sharedCertManager(shared);
  await freshNamespace(client, CERT_NS);
  await client.apply({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Issuer',
    metadata: { name: 'selfsigned', namespace: CERT_NS },
    spec: { selfSigned: {} },
  });
  for (const n of ['api-cert', 'flow-cert'])
    await client.apply(cert(n, { name: 'selfsigned', kind: 'Issuer' }));
  const r = await certificatesReadyGate(client, {
    namespaces: [CERT_NS],
    expect: [
      { namespace: CERT_NS, name: 'api-cert' },
      { namespace: CERT_NS, name: 'flow-cert' },
    ],
    timeoutMs: 90_000,
  });
  assert.ok(r.polls >= 1);
  const secret = await client.get({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: CERT_NS,
    name: 'flow-cert',
  });
  assert.ok((secret.data as Record<string, string>)['tls.crt'], 'cert-manager wrote the Secret');
});

test('every Certificate Ready: a timeout shows the reason, the CertificateRequest status and the missing issuer', async () => {
  await client.apply(cert('orphan-cert', { name: 'direktiv-ca', kind: 'Issuer' }));
  const err = await expectTimeout(
    certificatesReadyGate(client, {
      namespaces: [CERT_NS],
      expect: [
        { namespace: CERT_NS, name: 'missing-cert' },
        { namespace: CERT_NS, name: 'orphan-cert' },
      ],
      timeoutMs: 20_000,
    }),
  );
  const m = err.message;
  assert.match(m, `Certificate ${CERT_NS}/missing-cert: not found (was the profile applied?)`);
  assert.match(m, new RegExp(`Certificate ${CERT_NS}/orphan-cert: Ready=False \\(\\w+: `));
  assert.match(
    m,
    new RegExp(
      `CertificateRequest ${CERT_NS}/orphan-cert-[a-z0-9]+: Approved=True \\(cert-manager.io: Certificate request has been approved by cert-manager.io\\).*Ready=False \\(Pending: Referenced "Issuer" not found`,
    ),
  );
  assert.match(m, `Issuer ${CERT_NS}/direktiv-ca: not found`);
  assert.match(m, 'What to do:\n  - A Certificate references an issuer that does not exist');
  assert.not.match(m, `${CERT_NS}/api-cert:`);
});

test.run();
