// The lab's certificates come from the profile chart's rendering (one source): the specs are the
// chart's, rendered once per chart input, and the issued Secrets are exactly the chart's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, MODES, PROFILE_NAMES } from '../../scenarios/index.ts';
import { readCertSpecs } from '../../scripts/lib/chart/cert-specs.ts';
import { renderProfile } from '../../scripts/lib/chart/render.ts';
import { type LabCertSpecs, labCertSpecs, labChartRenders } from '../../scripts/lib/lab/certs.ts';
import { labPkiFor } from '../../scripts/lib/lab/lab.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

const specs = (s: Parameters<typeof labCertSpecs>[0]) => labCertSpecs(s, { helm: testHelm });
async function rejection(f: () => Promise<unknown>): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}
const find = (s: LabCertSpecs, ns: string, name: string) =>
  s.certs.find((c) => c.namespace === ns && c.name === name);

test('every profile in both modes: the lab specs are exactly what the chart renders', async () => {
  const helm = await testHelm();
  for (const mode of MODES) {
    for (const profile of PROFILE_NAMES) {
      const s = buildScenario({ profile, mode, namespace: 'tenant', serviceNamespace: 'fn-x' });
      assert.equal(await specs(s), readCertSpecs(await renderProfile(s, helm)), `${profile} ${mode}`);
    }
  }
});

test('rendered once per chart input; callers get copies the cache does not share', async () => {
  const s = buildScenario({ profile: 'grpc-mtls', namespace: 'cache-ns' });
  const before = labChartRenders();
  const [a, b] = await Promise.all([specs(s), specs(s)]);
  await specs(buildScenario({ profile: 'grpc-mtls', namespace: 'cache-ns', strict: false }));
  assert.is(labChartRenders() - before, 1, 'one helm template for three calls with the same values');
  a.certs[0]!.dnsNames.push('tampered.invalid');
  assert.not.ok((await specs(s)).certs[0]!.dnsNames.includes('tampered.invalid'));
  assert.equal(a.issuers, b.issuers);
  await specs(buildScenario({ profile: 'grpc-mtls', namespace: 'cache-ns-2' }));
  assert.is(labChartRenders() - before, 2, 'another namespace is another rendering');
});

test('the helm seam: a given binary is used, a missing one is named in the error and not cached', async () => {
  const s = buildScenario({ profile: 'ingress-tls', namespace: 'seam-ns' });
  assert.match(
    (await rejection(() => labCertSpecs(s, { helm: '/nonexistent/helm' }))).message,
    /helm not found at \/nonexistent\/helm/,
  );
  assert.match(
    (await rejection(() => labCertSpecs(s, { helm: '/nonexistent/helm' }))).message,
    /helm not found/,
  );
  const ok = await labCertSpecs(s, { helm: await testHelm() });
  assert.equal(
    ok.certs.map((c) => `${c.namespace}/${c.name}`),
    ['seam-ns/direktiv-lb'],
  );
});

test('plain needs no certificate; ingress-tls only the self-signed direktiv-lb', async () => {
  assert.equal(await specs(buildScenario({ profile: 'plain' })), { issuers: [], certs: [] });
  const s = await specs(buildScenario({ profile: 'ingress-tls', ingressHost: 'my.example' }));
  assert.equal(
    s.certs.map((c) => `${c.namespace}/${c.name}`),
    ['default/direktiv-lb'],
  );
  assert.equal(s.certs[0]!.dnsNames, ['localhost', 'my.example']);
  assert.is(s.certs[0]!.issuer.name, 'selfsigned-issuer');
});

test('corrected full-mtls: errata 3, 4, 5, 6 and SANs derived from the namespaces', async () => {
  const s = await specs(
    buildScenario({ profile: 'full-mtls', namespace: 'tenant', serviceNamespace: 'svc-x' }),
  );
  assert.ok(find(s, 'cert-manager', 'direktiv-ca')?.isCA);
  const flowNames = [
    'direktiv-flow-hl',
    'direktiv-flow-hl.tenant',
    'direktiv-flow-hl.tenant.svc',
    'direktiv-flow-hl.tenant.svc.cluster.local',
  ];
  assert.equal(find(s, 'tenant', 'direktiv-cert-flow')!.dnsNames, flowNames);
  const upstream = find(s, 'tenant', 'direktiv-cert')!.dnsNames;
  assert.ok(upstream.includes('direktiv-api-service.tenant') && upstream.includes('direktiv-ui.tenant'));
  // Erratum 4 + 5: the service-namespace flow certificate serves both roles.
  const svcFlow = find(s, 'svc-x', 'direktiv-cert-flow')!;
  assert.equal(svcFlow.dnsNames, [...flowNames, '*.svc-x.pod']);
  assert.ok(svcFlow.usages.includes('server auth') && svcFlow.usages.includes('client auth'));
  // Erratum 6 and 3: *.<svcNs>, and a copy in the release namespace for flow.functionsCA.
  assert.ok(find(s, 'contour-internal', 'direktiv-cert-knative')!.dnsNames.includes('*.svc-x'));
  assert.ok(find(s, 'tenant', 'direktiv-cert-knative'));
});

test('corrected grpc-tls issues the service-namespace flow Secret without the services feature (erratum 4)', async () => {
  const s = await specs(buildScenario({ profile: 'grpc-tls' }));
  assert.ok(find(s, 'direktiv-services-direktiv', 'direktiv-cert-flow'));
  assert.not.ok(find(s, 'contour-internal', 'direktiv-cert-knative'));
});

test("as-documented: the page's objects, its .default SANs, no copies, no pod SAN", async () => {
  const s = await specs(buildScenario({ profile: 'full-mtls', mode: 'as-documented', namespace: 'tenant' }));
  // The chart places the page's objects in the release namespace but keeps the page's SANs.
  assert.ok(find(s, 'tenant', 'direktiv-cert-flow')!.dnsNames.includes('direktiv-flow-hl.default'));
  assert.equal(find(s, 'direktiv-services-direktiv', 'direktiv-cert-flow')!.dnsNames, [
    'direktiv-flow-hl.default.svc.cluster.local',
    'direktiv-flow-hl.default',
    'direktiv-flow-hl',
  ]);
  assert.not.ok(find(s, 'tenant', 'direktiv-cert-knative'), 'no functionsCA copy (erratum 3)');
  const g = await specs(buildScenario({ profile: 'grpc-mtls', mode: 'as-documented' }));
  assert.not.ok(
    find(g, 'direktiv-services-direktiv', 'direktiv-cert-flow'),
    'only the Pod section creates it',
  );
});

test("the lab issues exactly the chart's Secrets, with the chart's SANs", async () => {
  const s = buildScenario({ profile: 'full-mtls', namespace: 'tenant', serviceNamespace: 'svc-x' });
  const { certs } = await specs(s);
  const pki = await labPkiFor(s, { helm: testHelm });
  assert.equal([...pki.all().keys()].sort(), certs.map((c) => `${c.namespace}/${c.secretName}`).sort());
  assert.equal(pki.profileCa, { namespace: 'cert-manager', secretName: 'direktiv-ca' });
  for (const c of certs.filter((x) => !x.isCA)) {
    const issued = pki.issued(c.namespace, c.secretName)!;
    const sans = (issued.cert.subjectAltName ?? '').split(', ').map((x) => x.replace(/^DNS:/, ''));
    assert.equal(sans, c.dnsNames, `${c.namespace}/${c.name}`);
  }
  assert.is(
    (await labPkiFor(buildScenario({ profile: 'ingress-tls' }), { helm: testHelm })).profileCa,
    undefined,
  );
});

test.run();
