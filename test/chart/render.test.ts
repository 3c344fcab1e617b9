// For every profile and both modes: helm lint passes, helm template renders, every object
// validates against its real schema, uses only field names the harness relies on, and the
// inventory is the one the spec's profile table names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MODES, PROFILE_NAMES } from '../../scenarios/index.ts';
import { lintProfile, objectRef, schemaErrors } from '../../scripts/lib/chart/index.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';
import { rendered, scenario } from './helpers/fixtures.ts';

const CASES = MODES.flatMap((mode) => PROFILE_NAMES.map((p) => scenario(p, mode)));

test('helm lint --strict passes for every profile in both modes', async () => {
  const helm = await testHelm();
  const results = await Promise.all(CASES.map((s) => lintProfile(s, helm)));
  results.forEach((r, i) => {
    assert.ok(r.ok, `${CASES[i]?.name} ${CASES[i]?.mode}: ${r.output}`);
    assert.match(r.output, '0 chart(s) failed');
  });
});

test('every rendered object validates against its schema', async () => {
  let count = 0;
  for (const s of CASES) {
    const objects = await rendered(s);
    for (const o of objects) {
      assert.equal(schemaErrors(o), [], `${s.name} ${s.mode}: ${objectRef(o)}`);
      count++;
    }
  }
  assert.ok(count > 40, `only ${count} objects rendered in 12 cases`);
});

test('a schema violation is reported (the validators can fail)', async () => {
  const objects = structuredClone(await rendered(scenario('full-mtls', 'corrected')));
  const c = objects.find((o) => o.kind === 'Certificate');
  const d = objects.find((o) => o.kind === 'TLSCertificateDelegation');
  assert.ok(c && d);
  c.spec.usages = ['server auth', 'serverAuth'];
  assert.match(schemaErrors(c).join(), 'must be equal to one of the allowed values');
  delete d.spec.delegations[0].secretName;
  assert.match(schemaErrors(d).join(), "must have required property 'secretName'");
  d.spec = {};
  assert.match(schemaErrors(d).join(), "must have required property 'delegations'");
  assert.throws(
    () => schemaErrors({ apiVersion: 'x/v1', kind: 'Y', metadata: { name: 'z' } }),
    /no schema known/,
  );
});

// The schemas accept unknown fields (as the CRDs prune them), so a misspelt field would pass:
// check every field name against the fields cert-manager v1 and Contour v1 define and we use.
const ALLOWED: Record<string, Record<string, readonly string[]>> = {
  Certificate: {
    '': ['apiVersion', 'kind', 'metadata', 'spec'],
    spec: ['secretName', 'isCA', 'commonName', 'dnsNames', 'issuerRef', 'usages'],
    'spec.issuerRef': ['name', 'kind', 'group'],
  },
  ClusterIssuer: {
    '': ['apiVersion', 'kind', 'metadata', 'spec'],
    spec: ['selfSigned', 'ca'],
    'spec.ca': ['secretName'],
  },
  TLSCertificateDelegation: {
    '': ['apiVersion', 'kind', 'metadata', 'spec'],
    spec: ['delegations'],
    'spec.delegations[]': ['secretName', 'targetNamespaces'],
  },
};
const METADATA = ['name', 'namespace', 'labels', 'annotations'];

test('every field name is one the schemas define (no misspelt dnsName, secretname, ...)', async () => {
  for (const s of CASES) {
    for (const o of await rendered(s)) {
      const allowed = ALLOWED[o.kind];
      assert.ok(allowed, `unexpected kind ${o.kind}`);
      const keys = (x: object | undefined) => Object.keys(x ?? {});
      const within = (at: string, x: object | undefined) => {
        for (const k of keys(x))
          assert.ok(allowed[at]?.includes(k), `${objectRef(o)}: field ${at ? `${at}.` : ''}${k}`);
      };
      within('', o);
      for (const k of keys(o.metadata)) assert.ok(METADATA.includes(k), `${objectRef(o)}: metadata.${k}`);
      within('spec', o.spec);
      if (o.kind === 'Certificate') within('spec.issuerRef', o.spec.issuerRef);
      if (o.kind === 'ClusterIssuer' && o.spec.ca) within('spec.ca', o.spec.ca);
      if (o.kind === 'TLSCertificateDelegation')
        for (const d of o.spec.delegations) within('spec.delegations[]', d);
      // Namespaced kinds carry their namespace; ClusterIssuers are cluster-scoped.
      assert.is(o.metadata.namespace === undefined, o.kind === 'ClusterIssuer', objectRef(o));
    }
  }
});

const inventory = (objects: { kind: string; metadata: { name: string; namespace?: string } }[]) =>
  objects.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`).sort();

test('corrected inventory per profile (spec: profile table plus the errata copies)', async () => {
  const S = 'direktiv-services-direktiv';
  const chain = ['Certificate cert-manager/direktiv-ca', 'ClusterIssuer -/direktiv-ca'];
  const grpc = [
    'Certificate default/direktiv-cert-fn',
    'Certificate default/direktiv-cert-flow',
    'Certificate default/direktiv-cert-ingress',
    `Certificate ${S}/direktiv-cert-flow`,
  ];
  const base = ['ClusterIssuer -/selfsigned-issuer', 'Certificate default/direktiv-lb'];
  const want: Record<string, string[]> = {
    plain: [],
    'ingress-tls': base,
    'upstream-tls': [...base, ...chain, 'Certificate default/direktiv-cert'],
    'grpc-tls': [...base, ...chain, 'Certificate default/direktiv-cert', ...grpc],
    'grpc-mtls': [...base, ...chain, 'Certificate default/direktiv-cert', ...grpc],
    'full-mtls': [
      ...base,
      ...chain,
      'Certificate default/direktiv-cert',
      ...grpc,
      'Certificate contour-internal/direktiv-cert-knative',
      'Certificate default/direktiv-cert-knative',
      'TLSCertificateDelegation contour-internal/default-delegation',
    ],
  };
  for (const p of PROFILE_NAMES) {
    assert.equal(inventory(await rendered(scenario(p, 'corrected'))), [...(want[p] ?? [])].sort(), p);
  }
});

test('as-documented inventory: the page verbatim, no copies except its own "Pod" certificate', async () => {
  const full = inventory(await rendered(scenario('full-mtls', 'as-documented')));
  assert.ok(
    full.includes('Certificate direktiv-services-direktiv/direktiv-cert-flow'),
    'the page\'s "Pod" cert',
  );
  assert.ok(full.includes('Certificate contour-internal/direktiv-cert-knative'));
  assert.not.ok(full.includes('Certificate default/direktiv-cert-knative'), 'erratum 3: no copy in N');
  const grpc = inventory(await rendered(scenario('grpc-tls', 'as-documented')));
  assert.not.ok(
    grpc.some((x) => x.includes('direktiv-services-direktiv')),
    'erratum 4: no copy in S',
  );
  assert.equal(await rendered(scenario('plain', 'as-documented')), []);
});

test("corrected SANs derive from the namespaces; as-documented keeps the page's .default names", async () => {
  const s = scenario('full-mtls', 'corrected', { namespace: 'dkv', serviceNamespace: 'fns' });
  const objs = await rendered(s);
  const names = (ns: string, n: string) =>
    objs.find((o) => o.kind === 'Certificate' && o.metadata.namespace === ns && o.metadata.name === n)?.spec
      .dnsNames;
  assert.ok(names('dkv', 'direktiv-cert-fn').includes('direktiv-functions-hl.dkv'));
  assert.ok(names('dkv', 'direktiv-cert').includes('direktiv-api-service.dkv'));
  assert.equal(names('fns', 'direktiv-cert-flow').slice(-1), ['*.fns.pod']);
  assert.ok(names('contour-internal', 'direktiv-cert-knative').includes('*.fns'));
  assert.not.ok(JSON.stringify(objs).includes('.default'), 'no SAN of namespace default left');
  const doc = await rendered(
    scenario('full-mtls', 'as-documented', { namespace: 'dkv', serviceNamespace: 'fns' }),
  );
  const fn = doc.find((o) => o.metadata.name === 'direktiv-cert-fn');
  assert.is(fn?.metadata.namespace, 'dkv');
  assert.equal(fn?.spec.dnsNames, [
    'direktiv-functions-hl.default.svc.cluster.local',
    'direktiv-functions-hl.default',
    'direktiv-functions-hl',
    '*.default.svc.cluster.local',
    '*.default',
  ]);
  assert.equal(fn?.spec.usages, ['server auth', 'client auth']);
});

test.run();
