// The Direktiv API client and the traffic driver against the fake Direktiv v0.4.1 API: exact
// routes and Content-Type, retry on 400 Code 14, 409 handling, execute error headers surfacing
// as a failure with the message, TLS with the profile's CA and server name, and the record of
// every step for the report.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PATH_IDS } from '../../scenarios/index.ts';
import {
  DirektivApi,
  DirektivApiError,
  DirektivExecutionError,
  headerValue,
} from '../../scripts/lib/direktiv-api/client.ts';
import { sendHttp } from '../../scripts/lib/direktiv-api/http.ts';
import { driveTraffic, exercisedPaths } from '../../scripts/lib/direktiv-api/traffic.ts';
import { trafficWorkflowYaml } from '../../scripts/lib/direktiv-api/workflow.ts';
import { FakeDirektiv } from '../helpers/fake-direktiv.ts';
import { selfSignedServerCert } from '../helpers/fake-tls.ts';

const FAST = { retryIntervalMs: 1, unavailableRetryMs: 5000 };

test('workflow upload sends Content-Type exactly text/yaml; anything else is refused by the API', async () => {
  const fake = await FakeDirektiv.start();
  try {
    const api = new DirektivApi({ baseUrl: fake.url, ...FAST });
    await api.createNamespace('demo');
    await api.createWorkflow('demo', trafficWorkflowYaml());
    const upload = fake.requests.find(
      (r) => r.method === 'POST' && r.path === '/api/namespaces/demo/workflows',
    );
    const i = upload?.rawHeaders.findIndex((h) => h.toLowerCase() === 'content-type') ?? -1;
    assert.is(upload?.rawHeaders[i + 1], 'text/yaml');
    assert.is(upload?.status, 200);

    // What the API answers other content types (fetch's default for a string body included).
    const withCharset = await sendHttp({
      method: 'POST',
      url: new URL('/api/namespaces/demo/workflows', fake.url),
      headers: { 'Content-Type': 'text/yaml; charset=utf-8' },
      body: trafficWorkflowYaml({ id: 'other' }),
    });
    assert.is(withCharset.status, 500);
    assert.equal(JSON.parse(withCharset.body), {
      Code: 50,
      Message: "content type 'text/yaml; charset=utf-8' is not supported. supported media types: 'text/yaml'",
    });
    const viaFetch = await fetch(new URL('/api/namespaces/demo/workflows', fake.url), {
      method: 'POST',
      body: trafficWorkflowYaml({ id: 'other' }),
    });
    assert.is(viaFetch.status, 500);
    assert.match(await viaFetch.text(), "content type 'text/plain;charset=UTF-8' is not supported");
  } finally {
    await fake.close();
  }
});

test('routes are exact: the trailing slash matters, and a wrong method is a 405', async () => {
  const fake = await FakeDirektiv.start();
  try {
    const api = new DirektivApi({ baseUrl: fake.url, ...FAST });
    await api.listNamespaces();
    assert.is(fake.requests.at(-1)?.path, '/api/namespaces/');
    const noSlash = await sendHttp({ method: 'GET', url: new URL('/api/namespaces', fake.url) });
    assert.is(noSlash.status, 404);
    assert.is(noSlash.body, '404 page not found\n');
    const wrongMethod = await sendHttp({ method: 'DELETE', url: new URL('/api/healthz', fake.url) });
    assert.is(wrongMethod.status, 405);
  } finally {
    await fake.close();
  }
});

test('400 Code 14 (engine not reachable yet) is retried and reported; the budget ends with a clear error', async () => {
  const fake = await FakeDirektiv.start({ unavailableCalls: 3 });
  try {
    const retries: string[] = [];
    const api = new DirektivApi({ baseUrl: fake.url, ...FAST, onRetry: (l) => retries.push(l) });
    assert.equal(await api.listNamespaces(), []);
    assert.is(retries.length, 3);
    assert.match(
      retries[0] ?? '',
      'GET /api/namespaces/: engine unavailable (400 Code 14: all SubConns are in TransientFailure',
    );
    assert.equal(api.calls.at(-1), {
      ...api.calls.at(-1),
      path: '/api/namespaces/',
      status: 200,
      attempts: 4,
    });
  } finally {
    await fake.close();
  }
  const down = await FakeDirektiv.start({ unavailableCalls: 1_000_000 });
  try {
    const api = new DirektivApi({ baseUrl: down.url, retryIntervalMs: 1, unavailableRetryMs: 15 });
    try {
      await api.createNamespace('demo');
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, /^POST \/api\/namespaces\/demo: still failing after \d+ attempts/);
      assert.match((e as Error).message, 'engine unavailable (400 Code 14');
      assert.match((e as Error).message, 'check the direktiv Deployment');
    }
  } finally {
    await down.close();
  }
});

test('409: an existing namespace is accepted, an existing workflow is updated with PUT', async () => {
  const fake = await FakeDirektiv.start();
  try {
    const api = new DirektivApi({ baseUrl: fake.url, ...FAST });
    assert.is(await api.createNamespace('demo'), 'created');
    assert.is(await api.createNamespace('demo'), 'exists');
    const yaml = trafficWorkflowYaml({ id: 'wf' });
    assert.is((await api.upsertWorkflow('demo', 'wf', yaml)).action, 'created');
    const second = await api.upsertWorkflow('demo', 'wf', yaml);
    assert.is(second.action, 'updated');
    assert.is(second.info.revision, 1);
    assert.equal(
      fake.requests
        .filter((r) => r.path.startsWith('/api/namespaces/demo/workflows'))
        .map((r) => `${r.method} ${r.path} ${r.status}`),
      [
        'POST /api/namespaces/demo/workflows 200',
        'POST /api/namespaces/demo/workflows 409',
        'PUT /api/namespaces/demo/workflows/wf 200',
      ],
    );
    assert.is((await api.getWorkflow('demo', 'wf')).yaml, yaml);
    try {
      await api.createWorkflow('demo', yaml);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, DirektivApiError);
      assert.is((e as DirektivApiError).status, 409);
      assert.is((e as DirektivApiError).code, 6);
      assert.match(
        (e as Error).message,
        'POST /api/namespaces/demo/workflows answered HTTP 409 (Code 6): workflow already exists',
      );
    }
    // A definition the v0.4.1 model rejects is a 406 with the reason.
    try {
      await api.createWorkflow('demo', `${trafficWorkflowYaml({ id: 'bad' })}unknownKey: 1\n`);
      assert.unreachable();
    } catch (e) {
      assert.is((e as DirektivApiError).status, 406);
      assert.match((e as Error).message, 'field unknownKey not found');
      assert.match((e as Error).message, 'fix the YAML');
    }
  } finally {
    await fake.close();
  }
});

test('execute error headers (any case) surface as a failure with the code and message', async () => {
  const fake = await FakeDirektiv.start({
    failExecution: { code: 'direktiv.internal.error', message: 'an internal error occurred' },
  });
  try {
    const api = new DirektivApi({ baseUrl: fake.url, ...FAST });
    await api.createNamespace('demo');
    await api.createWorkflow('demo', trafficWorkflowYaml({ id: 'wf' }));
    try {
      await api.execute('demo', 'wf', {});
      assert.unreachable();
    } catch (e) {
      assert.instance(e, DirektivExecutionError);
      const err = e as DirektivExecutionError;
      assert.is(err.errorCode, 'direktiv.internal.error');
      assert.is(err.errorMessage, 'an internal error occurred');
      assert.match(err.instanceId ?? '', /^demo\/wf\/[0-9a-f]{6}$/);
      assert.match(err.message, 'workflow demo/wf failed (instance demo/wf/');
      assert.match(err.message, 'the real cause is in the instance logs');
    }
    const exec = fake.requests.find((r) => r.path.endsWith('/execute'));
    assert.is(exec?.query.get('wait'), 'true');
    assert.is(exec?.status, 200, 'the API answers 200 even for a failed workflow');
  } finally {
    await fake.close();
  }
  const h = { direktiv_errorcode: 'a', 'direktiv-instanceid': 'x/y/z' };
  assert.is(headerValue(h, 'Direktiv_ErrorCode'), 'a');
  assert.is(headerValue(h, 'DIREKTIV-ERRORCODE'), 'a');
  assert.is(headerValue(h, 'Direktiv-InstanceID'), 'x/y/z');
  assert.is(headerValue(h, 'Direktiv_ErrorMsg'), undefined);
});

test('driveTraffic over HTTPS with the profile CA and server name: every step recorded, every path exercised', async () => {
  const { certPem, keyPem } = await selfSignedServerCert({
    commonName: 'direktiv.tls.test',
    dnsNames: ['direktiv.tls.test'],
  });
  const fake = await FakeDirektiv.start({
    tls: { certPem, keyPem },
    unavailableCalls: 2,
    functionPollsUntilReady: 2,
    logPollsUntilVisible: 1,
  });
  try {
    const api = new DirektivApi({
      baseUrl: fake.url,
      tls: { ca: certPem, servername: 'direktiv.tls.test' },
      ...FAST,
    });
    const progress: string[] = [];
    const rec = await driveTraffic(api, {
      viaIngress: true,
      intervalMs: 1,
      workflow: {
        knativeImage: 'docker.io/vorteil/debug:v2',
        isolatedImage: 'docker.io/library/busybox:1.36',
      },
      onProgress: (l) => progress.push(l),
    });
    assert.is(rec.error, undefined);
    assert.is(rec.ok, true);
    assert.equal(
      rec.steps.map((s) => s.name),
      [
        'api-health',
        'engine-ready',
        'namespace',
        'workflow-upload',
        'knative-function-ready',
        'execute',
        'instance',
        'logs',
        'list-instances',
      ],
    );
    for (const s of rec.steps) {
      assert.ok(s.ok, s.name);
      assert.is(s.status, 200, s.name);
      assert.ok(s.durationMs >= 0 && s.startedAt.length > 0, s.name);
      assert.ok(s.paths.includes('client->ingress') && s.paths.includes('ingress->api'), s.name);
    }
    assert.is(rec.steps[1]?.attempts, 3, 'engine-ready retried twice on Code 14');
    assert.match(rec.instanceId ?? '', /^tls-e2e\/tls-traffic\/[0-9a-f]{6}$/);
    assert.equal(rec.output, { knative: { hello: 'knative' }, isolated: { hello: 'isolated' } });
    const exec = rec.steps.find((s) => s.name === 'execute');
    assert.is(exec?.instanceId, rec.instanceId);
    assert.match(
      rec.steps.find((s) => s.name === 'instance')?.note ?? '',
      'status complete; states call-knative -> call-isolated',
    );
    const inCluster = PATH_IDS.filter((p) => p !== 'ingress->ui');
    assert.equal(exercisedPaths(rec).sort(), [...inCluster].sort());
    // The uploaded workflow carries the configured images.
    const uploaded = fake.workflows.get('tls-e2e/tls-traffic');
    assert.match(uploaded?.yaml ?? '', 'image: docker.io/vorteil/debug:v2');
    assert.ok(progress.some((l) => l.includes('knative-function-ready: ok')));
    // TLS: the server name is sent as Host for the Ingress rule.
    assert.ok(fake.requests.every((r) => r.headers.host === 'direktiv.tls.test'));
  } finally {
    await fake.close();
  }
});

test('driveTraffic records the failing step and stops there: workflow error headers', async () => {
  const fake = await FakeDirektiv.start({
    failExecution: { code: 'io.direktiv.function.error', message: 'function kn: exit 1' },
  });
  try {
    const api = new DirektivApi({ baseUrl: fake.url, ...FAST });
    const rec = await driveTraffic(api, { intervalMs: 1, namespace: 'nettest' });
    assert.is(rec.ok, false);
    assert.equal(
      rec.steps.map((s) => `${s.name}:${s.ok}`),
      [
        'api-health:true',
        'engine-ready:true',
        'namespace:true',
        'workflow-upload:true',
        'knative-function-ready:true',
        'execute:false',
      ],
    );
    const ex = rec.steps.at(-1);
    assert.match(ex?.error ?? '', 'workflow nettest/tls-traffic failed');
    assert.match(ex?.error ?? '', 'io.direktiv.function.error: function kn: exit 1');
    assert.match(ex?.instanceId ?? '', /^nettest\/tls-traffic\//);
    assert.match(rec.error ?? '', /^execute: workflow nettest\/tls-traffic failed/);
  } finally {
    await fake.close();
  }
});

test('driveTraffic: a Knative function never Ready fails that step with the Knative condition', async () => {
  const fake = await FakeDirektiv.start({ functionPollsUntilReady: 1_000_000 });
  try {
    const api = new DirektivApi({ baseUrl: fake.url, ...FAST });
    const rec = await driveTraffic(api, { intervalMs: 1, timeouts: { functionReadyMs: 30 } });
    assert.is(rec.ok, false);
    const s = rec.steps.at(-1);
    assert.is(s?.name, 'knative-function-ready');
    assert.match(s?.error ?? '', 'timed out after');
    assert.match(s?.error ?? '', 'Knative service workflow-');
    assert.match(
      s?.error ?? '',
      'Ready=Unknown (RevisionMissing: Configuration is waiting for a Revision to become ready.)',
    );
    assert.match(s?.error ?? '', 'kubectl -n direktiv-services-direktiv get ksvc,pods');
  } finally {
    await fake.close();
  }
});

test('TLS: a certificate that does not name the server, or https without a CA, fails clearly', async () => {
  const { certPem, keyPem } = await selfSignedServerCert({
    commonName: 'direktiv.tls.test',
    dnsNames: ['direktiv.tls.test'],
  });
  const fake = await FakeDirektiv.start({ tls: { certPem, keyPem } });
  try {
    const api = new DirektivApi({
      baseUrl: fake.url,
      tls: { ca: certPem, servername: 'wrong.example' },
      ...FAST,
    });
    try {
      await api.healthz();
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, 'GET /api/healthz: TLS handshake with 127.0.0.1:');
      assert.match((e as Error).message, 'must chain to the given CA and name wrong.example');
    }
    assert.throws(() => new DirektivApi({ baseUrl: fake.url }), /is https but no CA was given/);
  } finally {
    await fake.close();
  }
});

test.run();
