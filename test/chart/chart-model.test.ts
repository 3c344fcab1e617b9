// The model of what chart v0.4.1 and its controller make each component mount, read from values.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { direktivMounts, pathTls, type SecretMount } from '../../scenarios/direktiv-chart-model.ts';
import { direktivValues } from '../../scenarios/direktiv-values.ts';
import { dialName } from '../../scenarios/index.ts';
import { KNATIVE_CHART_DEFAULTS, knativeSettings, knativeState } from '../../scenarios/knative-settings.ts';
import { scenario } from './helpers/fixtures.ts';

function model(p: Parameters<typeof scenario>[0], mode: 'corrected' | 'as-documented', extra = {}) {
  const s = scenario(p, mode, extra);
  const ctx = { namespace: s.namespace, knative: knativeState(knativeSettings(s)) };
  const values = direktivValues(s);
  return { s, mounts: direktivMounts(values, ctx), tls: pathTls(values, ctx) };
}
const row = (m: SecretMount) =>
  `${m.component} ${m.role} ${m.namespace}/${m.secretName} ${m.mountPath ?? '-'} ${m.path ?? 'self'}`;

test('full-mtls (N=dkv, S=fns): every mount, with role, namespace and path', () => {
  const { mounts } = model('full-mtls', 'corrected', { namespace: 'dkv', serviceNamespace: 'fns' });
  assert.equal(mounts.map(row).sort(), [
    'api client dkv/direktiv-cert-fn /etc/direktiv/certs/functions api->functions',
    'api client dkv/direktiv-cert-ingress /etc/direktiv/certs/ingress api->engine',
    'api server dkv/direktiv-cert /etc/direktiv/certs/http ingress->api',
    'engine ca dkv/direktiv-cert-knative /etc/direktiv/certs/ca engine->knative',
    'engine ca dkv/direktiv-cert-knative /etc/direktiv/certs/ca engine->pod',
    'engine client dkv/direktiv-cert-flow /etc/direktiv/certs/flow self',
    'engine client dkv/direktiv-cert-fn /etc/direktiv/certs/functions engine->functions',
    'engine client dkv/direktiv-cert-ingress /etc/direktiv/certs/ingress self',
    'engine server dkv/direktiv-cert-flow /etc/direktiv/certs/flow pod->engine',
    'engine server dkv/direktiv-cert-flow /etc/direktiv/certs/flow sidecar->engine',
    'engine server dkv/direktiv-cert-ingress /etc/direktiv/certs/ingress api->engine',
    'envoy-external server dkv/direktiv-lb - client->ingress',
    'envoy-internal server contour-internal/direktiv-cert-knative - engine->knative',
    'functions server dkv/direktiv-cert-fn /etc/direktiv/certs/functions api->functions',
    'functions server dkv/direktiv-cert-fn /etc/direktiv/certs/functions engine->functions',
    'init-pod client fns/direktiv-cert-flow /etc/direktiv/certs/flow pod->engine',
    'init-pod server fns/direktiv-cert-flow /etc/direktiv/certs/http engine->pod',
    'sidecar client fns/direktiv-cert-flow /etc/direktiv/certs/flow sidecar->engine',
    'ui server dkv/direktiv-cert /etc/direktiv/certs/http ingress->ui',
  ]);
});

test('servers carry the name their clients dial (scenarios/paths.ts dialName); usages follow Go', () => {
  const { mounts, s } = model('full-mtls', 'corrected');
  for (const m of mounts.filter((x) => x.role === 'server' && x.path)) {
    const p = m.path as NonNullable<SecretMount['path']>;
    assert.equal(
      m.dialNames,
      [dialName(p, s.namespace, s.serviceNamespace, { ingressHost: s.ingressHost })],
      row(m),
    );
  }
  const fnServer = mounts.find((m) => m.component === 'functions');
  assert.equal(fnServer?.dialNames, ['direktiv-functions-hl.default']);
  assert.is(fnServer?.volume, 'certs');
  assert.equal(fnServer?.needs, { serverAuth: true, clientAuth: false });
  assert.equal(fnServer?.reads, { keyPair: true, caCrt: true }, 'mTLS server reads ca.crt as ClientCAs');
  const sidecar = mounts.find((m) => m.component === 'sidecar');
  assert.equal(sidecar?.needs, { serverAuth: false, clientAuth: true }, 'mTLS client presents tls.crt');
  // Contour 1.14 does not verify upstream certificates: no EKU demand on the API's certificate.
  assert.equal(mounts.find((m) => m.component === 'api' && m.role === 'server')?.needs, {
    serverAuth: false,
    clientAuth: false,
  });
  for (const m of mounts) assert.match(m.source, /templates\/|pkg\/|cmd\/|net-contour/, row(m));
});

test('grpc-tls without mTLS: clients read only ca.crt', () => {
  const { mounts } = model('grpc-tls', 'corrected');
  const api = mounts.find((m) => m.component === 'api' && m.value === 'functions.certificate');
  assert.equal(api?.reads, { keyPair: false, caCrt: true });
  assert.equal(api?.needs, { serverAuth: false, clientAuth: false });
  // The sidecars and pods in S mount the flow Secret even without the services feature.
  assert.ok(mounts.some((m) => m.component === 'sidecar' && m.namespace === 'direktiv-services-direktiv'));
  assert.not.ok(
    mounts.some((m) => m.role === 'ca'),
    'no podca without functionsProtocol https',
  );
});

test('as-documented: the isolates.* keys mount nothing on 5555', () => {
  const { mounts, tls } = model('grpc-mtls', 'as-documented');
  assert.not.ok(mounts.some((m) => m.value === 'functions.certificate'));
  assert.equal(tls['engine->functions'], {
    serverTls: false,
    clientTls: false,
    mtls: false,
    plainOpen: false,
  });
  assert.equal(tls['api->engine'], { serverTls: true, clientTls: true, mtls: true, plainOpen: false });
});

test('path TLS states: plain has none; full-mtls has all, with port 80 open unless strict', () => {
  const plain = model('plain', 'corrected').tls;
  assert.ok(Object.values(plain).every((t) => !t.serverTls && !t.clientTls));
  const full = model('full-mtls', 'corrected').tls;
  assert.ok(Object.values(full).every((t) => t.serverTls && t.clientTls));
  assert.is(full['engine->knative'].plainOpen, true);
  assert.is(full['sidecar->engine'].mtls, true);
  assert.is(model('full-mtls', 'corrected', { strict: true }).tls['engine->knative'].plainOpen, false);
  assert.equal(KNATIVE_CHART_DEFAULTS, { httpProtocol: 'Enabled' });
});

test.run();
