// Waits and readiness gates without a cluster: waitFor's progress, the rollout judgement and the
// pod-problem lines and hints (pure functions, fed objects a kubelet would write: kwok cannot make
// an image pull fail or a container crash), and the cert-manager API gate's retry classes against
// the fake API server (fake-kube.ts's header says why those stay on the fake). The gates against
// real controllers, scheduler, kwok and cert-manager are in test/control-plane/k8s-gates.test.ts.
// State changes are scripted per request count (whenRequested), never by wall-clock timing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import { podProblemLines, problemHints } from '../../scripts/lib/k8s/explain.ts';
import { certManagerApiGate, classifyCertManagerError } from '../../scripts/lib/k8s/gates.ts';
import { deploymentReadiness } from '../../scripts/lib/k8s/readiness.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import { WaitTimeoutError, waitFor } from '../../scripts/lib/k8s/wait.ts';
import {
  CERT_MANAGER_TYPES,
  deployment,
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

test('pod problems name the container, its state, restarts and last exit; hints say what to do', () => {
  const pull = pod({
    namespace: 'direktiv',
    name: 'direktiv-api-7d9f-abcde',
    containers: ['api', 'fluentbit'],
    phase: 'Pending',
    waiting: {
      container: 'api',
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "vorteil/api:v0.4.1"',
    },
  }) as unknown as KubeObject;
  const crash = pod({
    namespace: 'direktiv',
    name: 'direktiv-5c6-xyz',
    containers: ['ingress'],
    waiting: {
      container: 'ingress',
      reason: 'CrashLoopBackOff',
      message: 'back-off 40s restarting failed container',
    },
    terminated: { container: 'ingress', reason: 'Error', exitCode: 1, message: 'failed to create server' },
    restarts: 4,
  }) as unknown as KubeObject;
  const lines = [...podProblemLines(pull), ...podProblemLines(crash)];
  assert.equal(lines, [
    'pod direktiv-api-7d9f-abcde container api: ImagePullBackOff: Back-off pulling image "vorteil/api:v0.4.1"',
    'pod direktiv-5c6-xyz container ingress: CrashLoopBackOff: back-off 40s restarting failed container (restarts 4); last exit: Error code 1: failed to create server',
  ]);
  const hints = problemHints([{ object: 'Deployment direktiv/direktiv-api', why: 'x', details: lines }]);
  assert.ok(hints.some((h) => h.startsWith('An image cannot be pulled')));
  assert.ok(hints.some((h) => h.startsWith('A container keeps crashing')));
  assert.not.ok(hints.some((h) => h.startsWith('A pod cannot be scheduled')));
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

test.run();
