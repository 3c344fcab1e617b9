// Values for Direktiv's chart v0.4.1 per profile and mode: asserted key by key, no snapshots.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { effectiveValues } from '../../scenarios/direktiv-chart-model.ts';
import { CERT_NAMES, direktivValues, toValuesYaml } from '../../scenarios/direktiv-values.ts';
import { PROFILE_NAMES } from '../../scenarios/index.ts';
import { scenario } from './helpers/fixtures.ts';

const v = (
  p: Parameters<typeof scenario>[0],
  mode: 'corrected' | 'as-documented' = 'corrected',
  extra = {},
) => direktivValues(scenario(p, mode, extra));

test('plain: every TLS value none, environment values set', () => {
  const x = v('plain');
  const e = effectiveValues(x);
  for (const k of [
    'ingressCertificate',
    'apiCertificate',
    'uiCertificate',
    'flow',
    'mtlsFlow',
    'ingress',
    'mtlsIngress',
    'functionsCertificate',
    'functionsMtls',
    'initPodCertificate',
    'functionsCA',
  ] as const) {
    assert.is(e[k], 'none', k);
  }
  assert.is(e.functionsProtocol, 'http');
  assert.is(x.functions.namespace, 'direktiv-services-direktiv');
  assert.is(x.ingress.host, 'direktiv.tls.test');
  assert.is(x.pullPolicy, 'IfNotPresent');
  assert.is(x.prometheus.queryAddress, 'http://direktiv-prometheus-service.default:9090');
  assert.is(x.nodeSelector, undefined, 'gotcha 14: nodeSelector breaks flow-deployment.yaml');
});

test("each profile adds its section's keys (corrected: the keys chart v0.4.1 reads)", () => {
  assert.is(v('ingress-tls').ingress.certificate, 'direktiv-lb');
  assert.is(v('ingress-tls').api.certificate, 'none');
  const up = v('upstream-tls');
  assert.is(up.api.certificate, CERT_NAMES.http);
  assert.is(up.ui.certificate, CERT_NAMES.http);
  assert.is(up.flow.certificates.flow, 'none');
  const g = v('grpc-tls');
  assert.is(g.flow.certificates.flow, 'direktiv-cert-flow');
  assert.is(g.flow.certificates.ingress, 'direktiv-cert-ingress');
  assert.is(g.functions.certificate, 'direktiv-cert-fn');
  assert.is(g.functions.mtls, 'none');
  assert.is(g.flow.certificates.mtlsFlow, 'none');
  assert.is(g.isolates, undefined, 'corrected mode never writes isolates.*');
  const m = v('grpc-mtls');
  assert.is(m.flow.certificates.mtlsFlow, m.flow.certificates.flow);
  assert.is(m.flow.certificates.mtlsIngress, m.flow.certificates.ingress);
  assert.is(m.functions.mtls, m.functions.certificate);
  assert.is(m.flow.functionsProtocol, 'http');
  const f = v('full-mtls');
  assert.is(f.functions.initPodCertificate, 'direktiv-cert-flow');
  assert.is(f.flow.functionsProtocol, 'https');
  assert.is(f.flow.functionsCA, 'direktiv-cert-knative');
});

test('as-documented: isolates.* as the page says, functions.certificate left at its default none', () => {
  const g = v('grpc-tls', 'as-documented');
  assert.equal(g.isolates, { certificate: 'direktiv-cert-fn', mtls: 'none' });
  assert.is(g.functions.certificate, undefined);
  assert.is(effectiveValues(g).functionsCertificate, 'none');
  assert.equal(effectiveValues(g).ignored, ['isolates.certificate']);
  const m = v('grpc-mtls', 'as-documented');
  assert.equal(m.isolates, { certificate: 'direktiv-cert-fn', mtls: 'direktiv-cert-fn' });
  assert.is(effectiveValues(m).functionsMtls, 'none');
  assert.is(m.flow.certificates.mtlsFlow, 'direktiv-cert-flow');
  const f = v('full-mtls', 'as-documented');
  assert.is(f.functions.initPodCertificate, 'direktiv-cert-flow');
  assert.is(f.flow.functionsCA, 'direktiv-cert-knative');
  for (const p of ['plain', 'ingress-tls', 'upstream-tls'] as const)
    assert.is(v(p, 'as-documented').isolates, undefined);
});

test('both modes set the same values outside the controller keys', () => {
  for (const p of PROFILE_NAMES) {
    const a = v(p);
    const b = v(p, 'as-documented');
    for (const k of ['ingress', 'api', 'ui', 'flow', 'prometheus', 'pullPolicy'])
      assert.equal(a[k], b[k], `${p} ${k}`);
    assert.is(b.functions.initPodCertificate, a.functions.initPodCertificate);
  }
});

test('namespaces: functions.namespace = S; prometheus follows N (gotcha 15)', () => {
  const x = v('full-mtls', 'corrected', { namespace: 'dkv', serviceNamespace: 'fns' });
  assert.is(x.functions.namespace, 'fns');
  assert.is(x.prometheus.queryAddress, 'http://direktiv-prometheus-service.dkv:9090');
});

test('images: pinned references land where chart v0.4.1 reads them', () => {
  const x = direktivValues(scenario('plain', 'corrected'), {
    images: {
      registry: 'docker.io',
      flow: { image: 'vorteil/flow', tag: 'v0.4.1' },
      api: { image: 'vorteil/api', tag: 'v0.4.1' },
      sidecar: 'docker.io/vorteil/sidecar:v0.4.1',
      initPod: 'docker.io/vorteil/init-pod:v0.4.1',
    },
    pullPolicy: 'Always',
  });
  assert.is(x.registry, 'docker.io');
  assert.equal(x.flow.image, 'vorteil/flow');
  assert.equal(x.flow.tag, 'v0.4.1');
  assert.is(x.flow.functionsProtocol, 'http', 'image keys merge into the flow block');
  assert.is(x.api.certificate, 'none');
  assert.is(x.api.tag, 'v0.4.1');
  assert.is(x.functions.sidecar, 'docker.io/vorteil/sidecar:v0.4.1');
  assert.is(x.functions.initPodImage, 'docker.io/vorteil/init-pod:v0.4.1');
  assert.is(x.ui.image, undefined, 'no ui pin given: chart default kept');
  assert.is(x.pullPolicy, 'Always');
});

test('toValuesYaml: a header naming the scenario, and YAML that parses back to the values', () => {
  const s = scenario('grpc-mtls', 'as-documented', { namespace: 'dkv' });
  const values = direktivValues(s);
  const text = toValuesYaml(values, s);
  assert.match(text, '# Direktiv chart v0.4.1 values for grpc-mtls (as-documented)');
  assert.match(text, 'isolates.* keys do nothing');
  assert.equal(parse(text), values);
});

test.run();
