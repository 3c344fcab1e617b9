// Waits and readiness gates against the fake API server: waits that succeed once the cluster
// catches up, timeouts that name each pending object and why (condition, events, pod states),
// the cert-manager API gate retrying on each "webhook not ready" class (named in the progress),
// the Knative chart gate, every Certificate Ready, and the Envoy NodePort patch.
// State changes are scripted per request count (whenRequested), never by wall-clock timing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import {
  certificatesReadyGate,
  certManagerApiGate,
  classifyCertManagerError,
  deploymentsAvailableGate,
  knativeChartCheck,
  knativeChartGate,
  patchEnvoyNodePorts,
} from '../../scripts/lib/k8s/gates.ts';
import { deploymentReadiness } from '../../scripts/lib/k8s/readiness.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import { WaitTimeoutError, waitFor } from '../../scripts/lib/k8s/wait.ts';
import {
  CERT_MANAGER_TYPES,
  daemonSet,
  deployment,
  event,
  FakeKube,
  namespace,
  pod,
  statusBody,
  webhookFailure,
} from '../helpers/fake-kube.ts';

const FAST = { intervalMs: 2 };

async function setup(types = CERT_MANAGER_TYPES) {
  const fake = await FakeKube.start({ types });
  const client = KubeClient.fromKubeconfig(await fake.writeKubeconfig());
  return { fake, client };
}

async function expectTimeout(p: Promise<unknown>): Promise<WaitTimeoutError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, WaitTimeoutError);
    return e as WaitTimeoutError;
  }
  throw new Error('expected a WaitTimeoutError');
}

test('waitFor answers when the check turns ready, reporting progress only when the reasons change', async () => {
  let calls = 0;
  const lines: string[] = [];
  const r = await waitFor(
    'the thing',
    async () => {
      calls++;
      return calls < 4
        ? { ready: false, pending: [{ object: 'Widget a/b', why: calls < 3 ? 'starting' : 'warming up' }] }
        : { ready: true, pending: [] };
    },
    { timeoutMs: 5000, ...FAST, onProgress: (l) => lines.push(l) },
  );
  assert.is(r.polls, 4);
  assert.equal(lines, [
    'waiting for the thing: 1 pending: Widget a/b (starting)',
    'waiting for the thing: 1 pending: Widget a/b (warming up)',
  ]);
});

test('a Deployment that becomes available passes the gate', async () => {
  const { fake, client } = await setup();
  try {
    fake.put(namespace('direktiv'));
    fake.put(deployment({ namespace: 'direktiv', name: 'direktiv-api', available: false }));
    fake.whenRequested(
      { method: 'GET', path: '/apis/apps/v1/namespaces/direktiv/deployments', times: 3 },
      () => fake.put(deployment({ namespace: 'direktiv', name: 'direktiv-api', available: true })),
    );
    const lines: string[] = [];
    const r = await deploymentsAvailableGate(client, {
      namespace: 'direktiv',
      expect: ['direktiv-api'],
      timeoutMs: 5000,
      ...FAST,
      onProgress: (l) => lines.push(l),
    });
    assert.is(r.gate, 'deployments-available');
    assert.is(r.polls, 4);
    assert.match(lines[0] ?? '', 'Deployment direktiv/direktiv-api (0 of 1 updated replicas available');
  } finally {
    await fake.close();
  }
});

test('a Deployment that never becomes available times out naming the object, its condition, its pods and events', async () => {
  const { fake, client } = await setup();
  try {
    fake.put(namespace('direktiv'));
    fake.put(
      deployment({
        namespace: 'direktiv',
        name: 'direktiv-api',
        available: false,
        labels: { app: 'direktiv-api' },
      }),
    );
    fake.put(
      pod({
        namespace: 'direktiv',
        name: 'direktiv-api-7d9f-abcde',
        labels: { app: 'direktiv-api' },
        containers: ['api', 'fluentbit'],
        phase: 'Pending',
        waiting: {
          container: 'api',
          reason: 'ImagePullBackOff',
          message: 'Back-off pulling image "vorteil/api:v0.4.1"',
        },
      }),
    );
    fake.put(
      deployment({ namespace: 'direktiv', name: 'direktiv', available: false, labels: { app: 'direktiv' } }),
    );
    fake.put(
      pod({
        namespace: 'direktiv',
        name: 'direktiv-5c6-xyz',
        labels: { app: 'direktiv' },
        containers: ['ingress'],
        waiting: {
          container: 'ingress',
          reason: 'CrashLoopBackOff',
          message: 'back-off 40s restarting failed container',
        },
        terminated: {
          container: 'ingress',
          reason: 'Error',
          exitCode: 1,
          message: 'failed to create server',
        },
        restarts: 4,
      }),
    );
    fake.put(
      event({
        namespace: 'direktiv',
        involved: { kind: 'Pod', name: 'direktiv-api-7d9f-abcde' },
        reason: 'Failed',
        message: 'Failed to pull image "vorteil/api:v0.4.1": manifest unknown',
        count: 3,
      }),
    );
    fake.put(
      event({
        namespace: 'direktiv',
        involved: { kind: 'Deployment', name: 'direktiv-api' },
        reason: 'ScalingReplicaSet',
        message: 'Scaled up replica set direktiv-api-7d9f to 1',
        type: 'Normal',
      }),
    );
    const err = await expectTimeout(
      deploymentsAvailableGate(client, { namespace: 'direktiv', timeoutMs: 30, ...FAST }),
    );
    assert.equal(err.pending.map((p) => p.object).sort(), [
      'Deployment direktiv/direktiv',
      'Deployment direktiv/direktiv-api',
    ]);
    const m = err.message;
    assert.match(m, 'waiting for every Deployment in direktiv available; 2 still not ready');
    assert.match(
      m,
      'Deployment direktiv/direktiv-api: 0 of 1 updated replicas available; Available=False (MinimumReplicasUnavailable',
    );
    assert.match(
      m,
      'pod direktiv-api-7d9f-abcde container api: ImagePullBackOff: Back-off pulling image "vorteil/api:v0.4.1"',
    );
    assert.match(
      m,
      'direktiv-api-7d9f-abcde: event Warning Failed (x3): Failed to pull image "vorteil/api:v0.4.1": manifest unknown',
    );
    assert.match(m, 'event Normal ScalingReplicaSet: Scaled up replica set direktiv-api-7d9f to 1');
    assert.match(m, 'What to do:');
    assert.match(m, 'An image cannot be pulled');
    assert.match(m, 'A container keeps crashing');
    assert.match(
      m,
      'pod direktiv-5c6-xyz container ingress: CrashLoopBackOff: back-off 40s restarting failed container (restarts 4); last exit: Error code 1: failed to create server',
    );
  } finally {
    await fake.close();
  }
});

test('rollout judgement: stale status, failed rollout and unavailable replicas are not ready', () => {
  const base = deployment({ namespace: 'a', name: 'b', available: true }) as unknown as KubeObject;
  assert.is(deploymentReadiness(base).ready, true);
  const stale = structuredClone(base);
  stale.metadata.generation = 2;
  assert.match(
    deploymentReadiness(stale).why,
    'has not observed the latest spec yet (generation 2, observed 1)',
  );
  const failed = structuredClone(base);
  (failed.status as { conditions: unknown[] }).conditions.push({
    type: 'Progressing',
    status: 'False',
    reason: 'ProgressDeadlineExceeded',
    message: 'ReplicaSet "b-1" has timed out progressing.',
  });
  assert.match(
    deploymentReadiness(failed).why,
    'rollout failed: Progressing=False (ProgressDeadlineExceeded',
  );
  // `kubectl rollout status` would say "successfully rolled out" here.
  const unavailable = structuredClone(base);
  (unavailable.status as Record<string, unknown>).unavailableReplicas = 1;
  assert.is(deploymentReadiness(unavailable).why, '1 unavailable replicas');
});

test('cert-manager gate retries through each webhook-not-ready class, naming it, then passes', async () => {
  const { fake, client } = await setup();
  try {
    fake.put(namespace('cert-manager'));
    const post = /^\/apis\/cert-manager\.io\/v1\/namespaces\/cert-manager\/certificates$/;
    for (const kind of [
      'service-missing',
      'connection-refused',
      'no-endpoints',
      'ca-not-injected',
    ] as const) {
      fake.intercept({
        method: 'POST',
        path: post,
        times: 1,
        respond: () => ({ status: 500, body: webhookFailure(kind) }),
      });
    }
    const lines: string[] = [];
    const r = await certManagerApiGate(client, {
      timeoutMs: 5000,
      ...FAST,
      onProgress: (l) => lines.push(l),
    });
    assert.is(lines.length, 4);
    assert.match(
      lines[0] ?? '',
      'webhook-service-missing: the cert-manager-webhook Service does not exist yet',
    );
    assert.match(lines[1] ?? '', 'webhook-connection-refused');
    assert.match(lines[2] ?? '', 'webhook-no-endpoints');
    assert.match(lines[3] ?? '', 'webhook-ca-not-injected: cainjector has not yet written the CA bundle');
    assert.equal(r.notes, [
      'retried while: webhook-service-missing, webhook-connection-refused, webhook-no-endpoints, webhook-ca-not-injected',
    ]);
    const last = fake.requests.filter((q) => post.test(q.path)).at(-1);
    assert.is(last?.query.get('dryRun'), 'All');
    assert.equal(JSON.parse(last?.body ?? '{}').spec, {
      dnsNames: ['cmapichecker.example'],
      secretName: 'cmapichecker',
      issuerRef: { name: 'cmapichecker' },
    });
    // The dry run stored nothing.
    assert.is(fake.objects().filter((o) => o.kind === 'Certificate').length, 0);
  } finally {
    await fake.close();
  }
});

test('cert-manager gate: CRDs missing is retried as its own class until the CRDs appear', async () => {
  const { fake, client } = await setup([]);
  try {
    fake.put(namespace('cert-manager'));
    fake.whenRequested({ path: '/apis/cert-manager.io/v1', times: 2 }, () =>
      fake.addTypes(CERT_MANAGER_TYPES),
    );
    const lines: string[] = [];
    const r = await certManagerApiGate(client, {
      timeoutMs: 5000,
      ...FAST,
      onProgress: (l) => lines.push(l),
    });
    assert.match(lines[0] ?? '', 'crds-missing: the cert-manager CRDs are not installed');
    assert.equal(r.notes, ['retried while: crds-missing']);
  } finally {
    await fake.close();
  }
});

test('cert-manager gate: a CA never injected times out with the class and the unready cert-manager pods', async () => {
  const { fake, client } = await setup();
  try {
    fake.put(namespace('cert-manager'));
    fake.intercept({
      method: 'POST',
      respond: () => ({ status: 500, body: webhookFailure('ca-not-injected') }),
    });
    fake.put(deployment({ namespace: 'cert-manager', name: 'cert-manager-cainjector', available: false }));
    fake.put(
      pod({
        namespace: 'cert-manager',
        name: 'cert-manager-cainjector-1',
        labels: { app: 'cert-manager-cainjector' },
        waiting: { container: 'main', reason: 'CrashLoopBackOff', message: 'back-off 10s' },
        restarts: 2,
      }),
    );
    const err = await expectTimeout(certManagerApiGate(client, { timeoutMs: 30, ...FAST }));
    assert.match(err.message, 'waiting for cert-manager to accept a Certificate through its webhook');
    assert.match(
      err.message,
      'cert-manager API (dry-run Certificate in cert-manager): webhook-ca-not-injected',
    );
    assert.match(err.message, 'x509: certificate signed by unknown authority');
    assert.match(
      err.message,
      'Deployment cert-manager/cert-manager-cainjector: 0 of 1 updated replicas available',
    );
    assert.match(err.message, 'pod cert-manager-cainjector-1 container main: CrashLoopBackOff');
  } finally {
    await fake.close();
  }
});

test('cert-manager gate: an error waiting cannot fix fails at once, with the API server message', async () => {
  const { fake, client } = await setup();
  try {
    fake.put(namespace('cert-manager'));
    fake.intercept({
      method: 'POST',
      respond: () => ({
        status: 403,
        body: statusBody(
          403,
          'Forbidden',
          'certificates.cert-manager.io is forbidden: User "x" cannot create resource',
        ),
      }),
    });
    try {
      await certManagerApiGate(client, { timeoutMs: 5000, ...FAST });
      assert.unreachable();
    } catch (e) {
      assert.not.instance(e, WaitTimeoutError);
      assert.match((e as Error).message, 'waiting will not fix');
      assert.match((e as Error).message, 'is forbidden');
    }
    assert.is(classifyCertManagerError(new Error('something else entirely')), undefined);
  } finally {
    await fake.close();
  }
});

function seedKnative(fake: FakeKube, opts: { complete: boolean }) {
  for (const ns of ['contour-external', 'contour-internal', 'knative-serving-knative'])
    fake.put(namespace(ns));
  for (const ns of ['contour-external', 'contour-internal']) {
    fake.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'contourcert', namespace: ns },
      data: {},
    });
    if (opts.complete || ns === 'contour-external') {
      fake.put({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'envoycert', namespace: ns },
        data: {},
      });
    }
    fake.put(deployment({ namespace: ns, name: 'contour', available: true }));
    fake.put(daemonSet({ namespace: ns, name: 'envoy', available: opts.complete ? 1 : 0 }));
  }
  const names = [
    'activator',
    'autoscaler',
    'controller',
    'webhook',
    ...(opts.complete ? ['net-contour-controller'] : []),
  ];
  for (const n of names)
    fake.put(deployment({ namespace: 'knative-serving-knative', name: n, available: true }));
}

test('Knative chart check names the missing certgen Secret, the unready Envoy and the missing net-contour controller', async () => {
  const { fake, client } = await setup();
  try {
    seedKnative(fake, { complete: false });
    const r = await knativeChartCheck(client);
    assert.is(r.ready, false);
    const lines = r.pending.map((p) => `${p.object}: ${p.why}`);
    assert.ok(lines.some((l) => l.startsWith('Secret contour-internal/envoycert: not created yet')));
    assert.ok(lines.includes('DaemonSet contour-external/envoy: 0 of 1 pods available'));
    assert.ok(lines.includes('DaemonSet contour-internal/envoy: 0 of 1 pods available'));
    assert.ok(
      lines.includes(
        'Deployment knative-serving-knative/net-contour-controller: not found (expected from the Knative chart)',
      ),
    );
    assert.is(r.pending.length, 4);
  } finally {
    await fake.close();
  }
});

test('Knative chart gate passes once certgen and rollouts complete (the certgen Job itself is gone)', async () => {
  const { fake, client } = await setup();
  try {
    seedKnative(fake, { complete: false });
    fake.whenRequested({ path: '/api/v1/namespaces/contour-internal/secrets/envoycert', times: 2 }, () =>
      seedKnative(fake, { complete: true }),
    );
    const r = await knativeChartGate(client, { timeoutMs: 5000, ...FAST });
    assert.is(r.gate, 'knative-chart');
    assert.ok(r.polls >= 2);
    assert.not.ok(
      fake.requests.some((q) => q.path.includes('/jobs/')),
      'the gate must not wait on the certgen Job by name',
    );
  } finally {
    await fake.close();
  }
});

function cert(name: string, ready: { status: string; reason: string; message: string } | null) {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name, namespace: 'direktiv' },
    spec: {
      secretName: name,
      dnsNames: [`${name}.example`],
      issuerRef: { name: 'direktiv-ca', kind: 'Issuer' },
    },
    ...(ready ? { status: { conditions: [{ type: 'Ready', ...ready }] } } : {}),
  };
}

test('every Certificate Ready: passes when the last one turns Ready', async () => {
  const { fake, client } = await setup();
  try {
    fake.put(namespace('direktiv'));
    fake.put(cert('api-cert', { status: 'True', reason: 'Ready', message: 'Certificate is up to date' }));
    fake.put(
      cert('flow-cert', {
        status: 'False',
        reason: 'Issuing',
        message: 'Issuing certificate as Secret does not exist',
      }),
    );
    fake.whenRequested({ path: '/apis/cert-manager.io/v1/namespaces/direktiv/certificates', times: 2 }, () =>
      fake.put(cert('flow-cert', { status: 'True', reason: 'Ready', message: 'Certificate is up to date' })),
    );
    const r = await certificatesReadyGate(client, {
      namespaces: ['direktiv'],
      expect: [
        { namespace: 'direktiv', name: 'api-cert' },
        { namespace: 'direktiv', name: 'flow-cert' },
      ],
      timeoutMs: 5000,
      ...FAST,
    });
    assert.is(r.polls, 3);
  } finally {
    await fake.close();
  }
});

test('every Certificate Ready: a timeout shows the reason, the CertificateRequest status and the issuer', async () => {
  const { fake, client } = await setup();
  try {
    fake.put(namespace('direktiv'));
    const c = fake.put(
      cert('flow-cert', {
        status: 'False',
        reason: 'DoesNotExist',
        message: 'Issuing certificate as Secret does not exist',
      }),
    );
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
            uid: (c.metadata as { uid: string }).uid,
          },
        ],
      },
      spec: { request: 'LS0t' },
      status: {
        conditions: [
          {
            type: 'Approved',
            status: 'True',
            reason: 'cert-manager.io',
            message: 'Certificate request has been approved by cert-manager.io',
          },
          {
            type: 'Ready',
            status: 'False',
            reason: 'Pending',
            message: 'Referenced "Issuer" not found: issuer.cert-manager.io "direktiv-ca" not found',
          },
        ],
      },
    });
    const err = await expectTimeout(
      certificatesReadyGate(client, {
        namespaces: ['direktiv'],
        expect: [{ namespace: 'direktiv', name: 'missing-cert' }],
        timeoutMs: 30,
        ...FAST,
      }),
    );
    const m = err.message;
    assert.match(m, 'Certificate direktiv/missing-cert: not found (was the profile applied?)');
    assert.match(
      m,
      'Certificate direktiv/flow-cert: Ready=False (DoesNotExist: Issuing certificate as Secret does not exist)',
    );
    assert.match(
      m,
      'CertificateRequest direktiv/flow-cert-1: Approved=True (cert-manager.io: Certificate request has been approved by cert-manager.io), Ready=False (Pending: Referenced "Issuer" not found',
    );
    assert.match(m, 'Issuer direktiv/direktiv-ca: not found');
    assert.match(m, 'What to do:\n  - A Certificate references an issuer that does not exist');
  } finally {
    await fake.close();
  }
});

test('Envoy NodePorts are pinned with a guarded JSON patch, idempotently', async () => {
  const { fake, client } = await setup();
  try {
    fake.put(namespace('contour-external'));
    fake.put({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'envoy', namespace: 'contour-external' },
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        ports: [
          { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30123 },
          { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443, nodePort: 30456 },
        ],
      },
    });
    const first = await patchEnvoyNodePorts(client);
    assert.equal(first, { http: 31080, https: 31443, changed: true });
    const patch = fake.requests.find((q) => q.method === 'PATCH');
    assert.is(patch?.contentType, 'application/json-patch+json');
    assert.equal(JSON.parse(patch?.body ?? '[]')[0], { op: 'test', path: '/spec/ports/0/port', value: 80 });
    const svc = fake.getObject('v1', 'Service', 'contour-external', 'envoy') as {
      spec: { ports: { nodePort: number }[] };
    };
    assert.equal(
      svc.spec.ports.map((p) => p.nodePort),
      [31080, 31443],
    );
    assert.equal(await patchEnvoyNodePorts(client), { http: 31080, https: 31443, changed: false });
  } finally {
    await fake.close();
  }
});

test.run();
