// The consistency check: corrected mode has no finding; as-documented mode shows each of the
// page's errata, attributed; planted bugs are found.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { direktivValues } from '../../scenarios/direktiv-values.ts';
import { buildScenario, ERRATA, MODES, PROFILE_NAMES, type Scenario } from '../../scenarios/index.ts';
import { checkConsistency, findingErrata, sanMatches } from '../../scripts/lib/chart/index.ts';
import { cert, copy, rendered, scenario } from './helpers/fixtures.ts';

async function check(s: Scenario) {
  return checkConsistency({ scenario: s, objects: await rendered(s) });
}

test('corrected: no finding for any profile', async () => {
  for (const p of PROFILE_NAMES) {
    const r = await check(scenario(p, 'corrected'));
    assert.equal(r.findings, [], p);
  }
});

test('corrected: no finding with other namespaces, --strict, or custom feature sets', async () => {
  const variants: Scenario[] = [
    ...PROFILE_NAMES.map((p) => scenario(p, 'corrected', { namespace: 'dkv', serviceNamespace: 'fns' })),
    scenario('full-mtls', 'corrected', { strict: true }),
    ...[
      'services',
      'ingress,services',
      'grpc-tls',
      'upstream',
      'grpc-tls,services',
      'grpc-tls,grpc-mtls,services',
    ].map((features) => buildScenario({ features, namespace: 'direktiv' })),
  ];
  for (const s of variants) {
    const r = await check(s);
    assert.equal(r.findings, [], `${s.name} ${s.namespace}/${s.serviceNamespace}`);
    assert.ok(r.checked.paths === 10);
  }
});

// Which errata the page's own example hits per profile: the page errata with exampleBreaks that
// concern the profile's features. One exception: with services the page's "Pod" certificate is
// the service-namespace copy of direktiv-cert-flow, so erratum 4 only shows without services.
function expectedErrata(s: Scenario): number[] {
  return ERRATA.filter(
    (e) => e.kind === 'page' && e.exampleBreaks && e.features.some((f) => s.features.includes(f)),
  )
    .map((e) => e.id)
    .filter((id) => !(id === 4 && s.features.includes('services')));
}

test('as-documented: each erratum of the page is found, and only those', async () => {
  const seen: Record<string, number[]> = {};
  for (const p of PROFILE_NAMES) {
    const s = scenario(p, 'as-documented');
    seen[p] = findingErrata(await check(s));
    assert.equal(seen[p], expectedErrata(s), p);
  }
  // The same, written out, so a change of errata.ts cannot silently empty the expectation.
  assert.equal(seen, {
    plain: [],
    'ingress-tls': [],
    'upstream-tls': [],
    'grpc-tls': [1, 4],
    'grpc-mtls': [1, 4],
    'full-mtls': [1, 3, 5, 7],
  });
  // No unattributed finding: with namespace default the page's SANs are right.
  for (const p of PROFILE_NAMES) {
    const r = await check(scenario(p, 'as-documented'));
    assert.ok(
      r.findings.every((f) => f.erratum !== null),
      p,
    );
  }
});

test('as-documented: findings name the object and path of each erratum', async () => {
  const r = await check(scenario('full-mtls', 'as-documented'));
  const by = (n: number) => r.findings.filter((f) => f.erratum === n);
  assert.equal(
    by(1)
      .map((f) => f.path)
      .sort(),
    ['api->functions', 'engine->functions'],
  );
  assert.match(by(1)[0]?.object ?? '', 'isolates.certificate');
  assert.equal(
    by(3).map((f) => [f.check, f.object]),
    [['missing-secret', 'Secret default/direktiv-cert-knative']],
  );
  assert.match(by(3)[0]?.message ?? '', '/etc/direktiv/certs/ca');
  assert.equal(
    by(5).map((f) => [f.check, f.path, f.object]),
    [['san', 'engine->pod', 'Certificate direktiv-services-direktiv/direktiv-cert-flow']],
  );
  assert.match(by(5)[0]?.message ?? '', '10-244-0-99.direktiv-services-direktiv.pod');
  assert.equal(
    by(7).map((f) => [f.check, f.object]),
    [['knative', 'ConfigMap knative-serving-knative/config-network']],
  );
  const g = await check(scenario('grpc-tls', 'as-documented'));
  const four = g.findings.filter((f) => f.erratum === 4);
  assert.equal(four.map((f) => f.path).sort(), ['pod->engine', 'sidecar->engine']);
  assert.ok(four.every((f) => f.object === 'Secret direktiv-services-direktiv/direktiv-cert-flow'));
});

test('as-documented beyond the example: namespace X and another service namespace', async () => {
  const x = await check(scenario('grpc-tls', 'as-documented', { namespace: 'dkv' }));
  const sans = x.findings.filter((f) => f.check === 'san' && f.erratum === null).map((f) => f.path);
  assert.equal(sans.sort(), ['api->engine', 'ingress->api', 'ingress->ui', 'sidecar->engine']);
  assert.ok(
    x.findings.every((f) => f.check !== 'san' || f.message.includes('written for namespace default')),
  );
  // Erratum 6 (exampleBreaks false): only a non-default service namespace shows it.
  const s = await check(scenario('full-mtls', 'as-documented', { serviceNamespace: 'fns' }));
  const six = s.findings.filter((f) => f.erratum === 6);
  assert.equal(
    six.map((f) => [f.check, f.object]),
    [['san', 'Certificate contour-internal/direktiv-cert-knative']],
  );
  assert.equal(findingErrata(s), [1, 3, 5, 6, 7]);
});

test('environment errata 8 and 9 are listed as applied in both modes; 2 as covered', async () => {
  for (const mode of MODES) {
    for (const p of PROFILE_NAMES) {
      const r = await check(scenario(p, mode));
      const ids = r.applied.map((a) => a.erratum);
      assert.ok(ids.includes(8) && ids.includes(9), `${p} ${mode}`);
      assert.ok(r.applied.filter((a) => a.erratum >= 8).every((a) => a.kind === 'environment'));
      assert.is(ids.includes(2), p.startsWith('grpc') || p === 'full-mtls', `${p}: erratum 2`);
    }
  }
});

test('corrected without --strict: erratum 7 accepted (reported), not failed; --strict: nothing to accept', async () => {
  const r = await check(scenario('full-mtls', 'corrected'));
  assert.equal(
    r.accepted.map((a) => a.erratum),
    [7],
  );
  assert.match(r.accepted[0]?.how ?? '', '--strict');
  assert.equal((await check(scenario('full-mtls', 'corrected', { strict: true }))).accepted, []);
  // --strict promised but the config-network patch not applied: a finding, attributed to 7.
  const s = scenario('full-mtls', 'corrected', { strict: true });
  const unpatched = checkConsistency({
    scenario: s,
    objects: await rendered(s),
    knative: { httpProtocol: 'Enabled', defaultTlsSecret: 'contour-internal/direktiv-cert-knative' },
  });
  assert.equal(
    unpatched.findings.map((f) => [f.check, f.erratum, f.path]),
    [['path-state', 7, 'engine->knative']],
  );
});

// --- planted bugs --------------------------------------------------------------------------
const full = () => scenario('full-mtls', 'corrected');

test('planted: a SAN the clients dial removed', async () => {
  const objects = copy(await rendered(full()));
  const fn = cert(objects, 'default', 'direktiv-cert-fn');
  fn.spec.dnsNames = fn.spec.dnsNames.filter((d: string) => d !== 'direktiv-functions-hl.default');
  const r = checkConsistency({ scenario: full(), objects });
  assert.equal(
    r.findings.map((f) => [f.check, f.path, f.object]),
    [['san', 'api->functions', 'Certificate default/direktiv-cert-fn']],
  );
  assert.match(r.findings[0]?.message ?? '', 'dial direktiv-functions-hl.default');
});

test('planted: the service-namespace copy dropped (erratum 4, and the init-pod server of 5)', async () => {
  const objects = copy(await rendered(full())).filter(
    (o) =>
      !(o.metadata.namespace === 'direktiv-services-direktiv' && o.metadata.name === 'direktiv-cert-flow'),
  );
  const r = checkConsistency({ scenario: full(), objects });
  assert.equal(findingErrata(r), [4, 5]);
  assert.ok(r.findings.every((f) => f.check === 'missing-secret'));
});

test('planted: the release-namespace copy of direktiv-cert-knative dropped (erratum 3)', async () => {
  const objects = copy(await rendered(full())).filter(
    (o) => !(o.metadata.namespace === 'default' && o.metadata.name === 'direktiv-cert-knative'),
  );
  assert.equal(findingErrata(checkConsistency({ scenario: full(), objects })), [3]);
});

test('planted: client auth removed under mTLS; server auth removed from the init-pod certificate', async () => {
  const objects = copy(await rendered(full()));
  const svc = cert(objects, 'direktiv-services-direktiv', 'direktiv-cert-flow');
  svc.spec.usages = ['digital signature', 'key encipherment', 'server auth'];
  const r = checkConsistency({ scenario: full(), objects });
  assert.ok(r.findings.length >= 2);
  assert.ok(r.findings.every((f) => f.check === 'usage' && f.message.includes('lack client auth')));
  assert.equal([...new Set(r.findings.map((f) => f.path))].sort(), ['pod->engine', 'sidecar->engine']);
  svc.spec.usages = ['client auth'];
  const r2 = checkConsistency({ scenario: full(), objects });
  assert.ok(
    r2.findings.some((f) => f.erratum === 5 && f.check === 'usage' && f.message.includes('lack server auth')),
  );
  // No EKU at all means any usage (cert-manager's default: digital signature, key encipherment).
  delete svc.spec.usages;
  assert.equal(checkConsistency({ scenario: full(), objects }).findings, []);
});

test('planted: a self-signed component certificate where ca.crt is read (erratum 10)', async () => {
  const objects = copy(await rendered(full()));
  const flow = cert(objects, 'direktiv-services-direktiv', 'direktiv-cert-flow');
  flow.spec.issuerRef = { name: 'selfsigned-issuer', kind: 'ClusterIssuer', group: 'cert-manager.io' };
  const r = checkConsistency({ scenario: full(), objects });
  assert.ok(r.findings.some((f) => f.check === 'ca' && f.erratum === 10));
  assert.ok(
    r.findings.some((f) => f.check === 'trust' && f.erratum === 10),
    'the engine no longer trusts the sidecar',
  );
  assert.equal(findingErrata(r), [10]);
});

test('planted: the chart rendered for another release namespace than Direktiv runs in', async () => {
  const s = full();
  const objects = await rendered(s, { namespace: 'elsewhere' });
  const r = checkConsistency({ scenario: s, objects });
  const missing = r.findings.filter((f) => f.check === 'missing-secret').map((f) => f.object);
  for (const name of [
    'direktiv-lb',
    'direktiv-cert',
    'direktiv-cert-fn',
    'direktiv-cert-flow',
    'direktiv-cert-ingress',
  ]) {
    assert.ok(missing.includes(`Secret default/${name}`), name);
  }
  // The service-namespace copy names the wrong engine Service.
  assert.ok(r.findings.length > 5);
});

test('planted: delegation missing; CA certificate missing', async () => {
  const noDelegation = copy(await rendered(full())).filter((o) => o.kind !== 'TLSCertificateDelegation');
  const r = checkConsistency({ scenario: full(), objects: noDelegation });
  assert.equal(
    r.findings.map((f) => [f.check, f.path]),
    [['delegation', 'engine->knative']],
  );
  const noCa = copy(await rendered(full())).filter(
    (o) => o.metadata.name !== 'direktiv-ca' || o.kind !== 'Certificate',
  );
  const r2 = checkConsistency({ scenario: full(), objects: noCa });
  assert.ok(r2.findings.some((f) => f.check === 'issuer' && f.object === 'ClusterIssuer direktiv-ca'));
});

test('planted: values that do not match the profile (TLS left off, mTLS left off)', async () => {
  const s = scenario('grpc-mtls', 'corrected');
  const values = direktivValues(s);
  values.functions.mtls = 'none';
  values.api.certificate = 'none';
  const r = checkConsistency({ scenario: s, objects: await rendered(s), values });
  assert.equal(r.findings.map((f) => [f.check, f.path]).sort(), [
    ['path-state', 'api->functions'],
    ['path-state', 'engine->functions'],
    ['path-state', 'ingress->api'],
  ]);
  assert.match(
    r.findings.find((f) => f.path === 'ingress->api')?.message ?? '',
    'must be tls; the values give plaintext',
  );
});

test('SAN matching follows Go: wildcard is one whole left-most label', () => {
  assert.ok(sanMatches('*.fns.pod', '10-244-0-9.fns.pod'));
  assert.not.ok(sanMatches('*.fns.pod', 'a.b.fns.pod'));
  assert.not.ok(sanMatches('*.fns', 'fns'));
  assert.ok(sanMatches('Direktiv-Flow-HL.default', 'direktiv-flow-hl.default'));
  assert.not.ok(sanMatches('direktiv-flow-hl', 'direktiv-flow-hl.default'));
  assert.not.ok(sanMatches('f*.fns', 'foo.fns'));
});

test.run();
