// The pure parts of the cluster run's evidence: which Service and name each path is probed at,
// which pod is which component (for attributing captured flows), which chart requirement is
// evidence for which path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadImageOverrides } from '../../kind/images.ts';
import { buildScenario, PATH_IDS } from '../../scenarios/index.ts';
import { requirementsFor } from '../../scripts/lib/chart-check/requirements.ts';
import type { ActivePathEvidence } from '../../scripts/lib/probe/types.ts';
import { clusterTarget } from '../../scripts/lib/run/cluster-targets.ts';
import { INIT_POD_PROBE_PATH, initPodProbeManifest } from '../../scripts/lib/run/init-pod-probe.ts';
import { componentOfPod, requirementPaths } from '../../scripts/lib/run/steps-evidence.ts';
import { clusterShapeHash } from '../../scripts/lib/run/steps-install.ts';
import { judgeActive } from '../../scripts/lib/verdict/verdict.ts';

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
  const pod = t('engine->pod');
  assert.equal(pod, {
    kind: 'init-pod',
    protocol: 'http',
    namespace: 'dkv-fn',
    port: 8890,
    httpPath: INIT_POD_PROBE_PATH,
    ca: { namespace: 'cert-manager', name: 'direktiv-ca' },
  });
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

test('the init-pod replica is configured as pod.go configures the init container', () => {
  const s = buildScenario({ profile: 'full-mtls', namespace: 'dkv' });
  const pod = initPodProbeManifest(
    s,
    loadImageOverrides(),
    'dns2:///direktiv-flow-hl.dkv:7777',
  ) as unknown as {
    metadata: { namespace: string; labels: Record<string, string> };
    spec: {
      volumes: { name: string; secret?: { secretName: string } }[];
      containers: {
        image: string;
        env: { name: string; value: string }[];
        volumeMounts: { mountPath: string }[];
      }[];
    };
  };
  assert.is(pod.metadata.namespace, 'direktiv-services-direktiv');
  assert.not.ok('direktiv.io/job' in pod.metadata.labels, 'the functions controller must not adopt it');
  const c = pod.spec.containers[0]!;
  assert.is(c.image, 'docker.io/vorteil/init-pod:v0.4.1');
  const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
  assert.is(env.DIREKTIV_LIFECYCLE, 'init');
  assert.is(env.DIREKTIV_STEP, '0');
  assert.is(env.DIREKTIV_FLOW_TLS, 'direktiv-cert-flow');
  assert.is(env.DIREKTIV_FLOW_ENDPOINT, 'dns2:///direktiv-flow-hl.dkv:7777');
  assert.equal(
    pod.spec.volumes.map((v) => `${v.name}:${v.secret?.secretName ?? '-'}`),
    ['workdir:-', 'flowcerts:direktiv-cert-flow', 'podcerts:direktiv-cert-flow'],
  );
  assert.ok(c.volumeMounts.some((m) => m.mountPath === '/etc/direktiv/certs/http'));
  // plain: no certificate, the server speaks plain HTTP (and the probe expects plain).
  const plain = initPodProbeManifest(
    buildScenario({ profile: 'plain' }),
    loadImageOverrides(),
    'x',
  ) as unknown as typeof pod;
  assert.equal(
    plain.spec.volumes.map((v) => v.name),
    ['workdir'],
  );
});

test('--allow-legacy-tls turns an accepted TLS 1.0 into a warning; other failures stay failures', () => {
  const check = (name: string, ok: boolean, reason: string) => ({ name, ok, detail: reason, reason });
  const ev = {
    kind: 'active',
    checks: [
      check('tls-handshake', true, ''),
      check('legacy-tls-refused', false, 'TLS 1.0 accepted on 6666'),
    ],
    target: { displayPort: 6666, port: 6666, serverName: 'x' },
    expected: { state: 'tls' },
    facts: { handshake: { protocol: 'TLSv1.3' } },
  } as unknown as ActivePathEvidence;
  assert.not.ok(judgeActive(ev).ok);
  const warned = judgeActive(ev, { legacyTls: 'warn' });
  assert.ok(warned.ok);
  assert.match(warned.warnings.join(), 'TLS 1.0 accepted on 6666 (allowed by --allow-legacy-tls)');
  const worse = { ...ev, checks: [...ev.checks, check('chain', false, 'not issued by the profile CA')] };
  assert.not.ok(judgeActive(worse as ActivePathEvidence, { legacyTls: 'warn' }).ok);
});

test('the cluster reuse key changes with the node image and mirror overrides', () => {
  const base = loadImageOverrides();
  const h = clusterShapeHash({ overrides: base });
  assert.is(h, clusterShapeHash({ overrides: loadImageOverrides() }), 'stable');
  const mirrored = { ...base, registryMirrors: { 'docker.io': ['http://mirror.invalid:5000'] } };
  assert.is.not(clusterShapeHash({ overrides: mirrored }), h);
  const node = {
    ...base,
    images: base.images.map((e) =>
      e.key === 'kind.node' ? { ...e, use: 'example.invalid/node:v1.24.17' } : e,
    ),
  };
  assert.is.not(clusterShapeHash({ overrides: node }), h);
});

test.run();
