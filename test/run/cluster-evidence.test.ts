// The pure parts of the cluster run's evidence: which Service and name each path is probed at,
// which pod is which component (for attributing captured flows), which chart requirement is
// evidence for which path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, PATH_IDS } from '../../scenarios/index.ts';
import { requirementsFor } from '../../scripts/lib/chart-check/requirements.ts';
import { clusterTarget } from '../../scripts/lib/run/cluster-targets.ts';
import { componentOfPod, requirementPaths } from '../../scripts/lib/run/steps-evidence.ts';

const ports = { httpPort: 18080, httpsPort: 18443 };

test('targets: the names the real clients dial, derived from the namespaces', () => {
  const s = buildScenario({ profile: 'full-mtls', namespace: 'dkv', serviceNamespace: 'dkv-fn' });
  const t = (p: (typeof PATH_IDS)[number]) =>
    clusterTarget(p, s, { ...ports, knativeService: 'workflow-42' });
  assert.equal(t('client->ingress'), {
    kind: 'host',
    protocol: 'http',
    port: 18443,
    plainPort: 18080,
    serverName: 'direktiv.tls.test',
    httpPath: '/api/namespaces/',
    ca: { namespace: 'dkv', name: 'direktiv-lb' },
  });
  const engine = t('api->engine');
  assert.ok(engine.kind === 'service');
  if (engine.kind === 'service') {
    assert.is(engine.serverName, 'direktiv-ingress-hl.dkv');
    assert.is(engine.port, 6666);
    assert.equal(engine.clientCert, { namespace: 'dkv', name: 'direktiv-cert-ingress' });
  }
  const flow = t('pod->engine');
  if (flow.kind === 'service')
    assert.equal(flow.clientCert, { namespace: 'dkv-fn', name: 'direktiv-cert-flow' });
  const kn = t('engine->knative');
  if (kn.kind === 'service') {
    assert.is(kn.serverName, 'workflow-42.dkv-fn');
    assert.is(kn.namespace, 'contour-internal');
    assert.is(kn.plainPort, 80);
  }
  assert.is(t('engine->pod').kind, 'none');
  for (const p of PATH_IDS) assert.ok(t(p), p);
});

const pod = (namespace: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'x', namespace, labels },
});

test('pods map to the components whose flows they carry', () => {
  const s = buildScenario({ profile: 'full-mtls' });
  assert.is(componentOfPod(pod('default', { 'app.kubernetes.io/name': 'direktiv' }), s), 'engine');
  assert.is(componentOfPod(pod('default', { 'app.kubernetes.io/name': 'direktiv-api' }), s), 'api');
  assert.is(
    componentOfPod(pod('default', { 'app.kubernetes.io/name': 'direktiv-functions' }), s),
    'functions',
  );
  assert.is(
    componentOfPod(pod('direktiv-services-direktiv', { 'serving.knative.dev/service': 'workflow-1' }), s),
    'sidecar',
  );
  assert.is(componentOfPod(pod('direktiv-services-direktiv', { 'direktiv.io/job': 'true' }), s), 'init-pod');
  assert.is(componentOfPod(pod('contour-internal', { app: 'envoy' }), s), 'envoy-internal');
  assert.is(componentOfPod(pod('default', { 'app.kubernetes.io/name': 'direktiv-support' }), s), undefined);
});

test('chart requirements are attributed to the paths they concern', () => {
  assert.equal(requirementPaths('functions.certificate (api->functions, engine->functions)'), [
    'api->functions',
    'engine->functions',
  ]);
  assert.equal(requirementPaths('flow.functionsProtocol; templates/flow-cm-config.yaml'), [
    'engine->knative',
  ]);
  assert.equal(requirementPaths('a Secret the profile does not create'), []);
  // Every requirement of a full profile that names a TLS value lands on at least one path.
  const reqs = requirementsFor(buildScenario({ profile: 'full-mtls' }));
  const tlsReqs = reqs.filter((r) => /certificate|mtls|functionsCA|functionsProtocol/i.test(r.because));
  for (const r of tlsReqs) assert.ok(requirementPaths(`${r.what} ${r.because}`).length > 0, r.id);
});

test.run();
