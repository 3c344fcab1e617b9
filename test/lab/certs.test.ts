import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario } from '../../scenarios/index.ts';
import { labCertSpecs } from '../../scripts/lib/lab/certs.ts';

const find = (specs: ReturnType<typeof labCertSpecs>, ns: string, name: string) =>
  specs.certs.find((c) => c.namespace === ns && c.name === name);

test('plain needs no certificate; ingress-tls only the self-signed direktiv-lb', () => {
  assert.equal(labCertSpecs(buildScenario({ profile: 'plain' })), { issuers: [], certs: [] });
  const s = labCertSpecs(buildScenario({ profile: 'ingress-tls', ingressHost: 'my.example' }));
  assert.equal(
    s.certs.map((c) => `${c.namespace}/${c.name}`),
    ['default/direktiv-lb'],
  );
  assert.equal(s.certs[0]!.dnsNames, ['localhost', 'my.example']);
  assert.is(s.certs[0]!.issuer.name, 'selfsigned-issuer');
});

test('corrected full-mtls: errata 3, 4, 5, 6 and SANs derived from the namespaces', () => {
  const s = labCertSpecs(
    buildScenario({ profile: 'full-mtls', namespace: 'tenant', serviceNamespace: 'svc-x' }),
  );
  assert.ok(find(s, 'cert-manager', 'direktiv-ca')?.isCA);
  assert.equal(find(s, 'tenant', 'direktiv-cert-flow')!.dnsNames, [
    'direktiv-flow-hl.tenant.svc.cluster.local',
    'direktiv-flow-hl.tenant',
    'direktiv-flow-hl',
    '*.tenant.svc.cluster.local',
    '*.tenant',
  ]);
  assert.equal(find(s, 'tenant', 'direktiv-cert')!.dnsNames, ['*.tenant.svc.cluster.local', '*.tenant']);
  // Erratum 4 + 5: the service-namespace flow certificate serves both roles.
  const svcFlow = find(s, 'svc-x', 'direktiv-cert-flow')!;
  assert.equal(svcFlow.dnsNames, [
    'direktiv-flow-hl.tenant.svc.cluster.local',
    'direktiv-flow-hl.tenant',
    'direktiv-flow-hl',
    '*.svc-x.pod',
  ]);
  assert.equal(svcFlow.usages, ['server auth', 'client auth']);
  // Erratum 6 and 3: *.<svcNs>, and a copy in the release namespace for flow.functionsCA.
  assert.equal(find(s, 'contour-internal', 'direktiv-cert-knative')!.dnsNames, ['*.svc-x']);
  assert.ok(find(s, 'tenant', 'direktiv-cert-knative'));
});

test('corrected grpc-tls issues the service-namespace flow Secret without the services feature (erratum 4)', () => {
  const s = labCertSpecs(buildScenario({ profile: 'grpc-tls' }));
  assert.ok(find(s, 'direktiv-services-direktiv', 'direktiv-cert-flow'));
  assert.not.ok(find(s, 'contour-internal', 'direktiv-cert-knative'));
});

test('as-documented reproduces the page verbatim: no copies, no pod SAN, namespace default hard-coded', () => {
  const s = labCertSpecs(buildScenario({ profile: 'full-mtls', mode: 'as-documented', namespace: 'tenant' }));
  assert.not.ok(find(s, 'tenant', 'direktiv-cert-flow'), 'the page writes namespace default');
  assert.equal(find(s, 'direktiv-services-direktiv', 'direktiv-cert-flow')!.dnsNames, [
    'direktiv-flow-hl.default.svc.cluster.local',
    'direktiv-flow-hl.default',
    'direktiv-flow-hl',
  ]);
  assert.not.ok(find(s, 'default', 'direktiv-cert-knative'), 'no functionsCA copy (erratum 3)');
  const g = labCertSpecs(buildScenario({ profile: 'grpc-mtls', mode: 'as-documented' }));
  assert.not.ok(
    find(g, 'direktiv-services-direktiv', 'direktiv-cert-flow'),
    'only the Pod section creates it',
  );
});

test.run();
