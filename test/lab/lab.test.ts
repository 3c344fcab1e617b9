// The whole assertion suite against the lab: every profile passes with the state it promises,
// plain is seen as plaintext everywhere, and the options change what they must.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, PATH_IDS, PROFILE_NAMES } from '../../scenarios/index.ts';
import { runLab } from '../../scripts/lib/lab/lab.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';
import { profileMatrix } from './helpers/matrix.ts';

test('all six profiles pass; every path shows the state its profile promises', async () => {
  const results = await profileMatrix();
  assert.equal(
    results.map((r) => r.scenario.name),
    [...PROFILE_NAMES],
  );
  for (const r of results) {
    for (const v of r.verdicts) {
      const where = `${r.scenario.name}/${v.path}`;
      assert.ok(v.ok, `${where}: ${v.reason}`);
      assert.equal(v.basis, ['active'], where);
      // The one designed exception: Knative's port 80 stays open without --strict (erratum 7).
      const expected = v.expected.plainPortOpen ? 'tls+plain' : v.expected.state;
      assert.is(v.observed, expected, where);
      const real = v.evidence.active?.checks.find((c) => c.name === 'real-client');
      assert.ok(real?.ok, `${where}: the real client made its call (${real?.detail})`);
    }
    assert.is(r.verdicts.length, PATH_IDS.length);
    assert.is(r.exemptions.length, 5, 'exempt paths are listed with the result');
  }
  const warned = results.flatMap((r) =>
    r.verdicts.filter((v) => v.status === 'warn').map((v) => `${r.scenario.name}/${v.path}`),
  );
  assert.equal(warned, ['full-mtls/engine->knative']);
});

test('plain: plaintext detected on every path (the detectors can fire)', async () => {
  const plain = (await profileMatrix())[0]!;
  assert.is(plain.scenario.name, 'plain');
  for (const v of plain.verdicts) {
    assert.is(v.observed, 'plain', v.path);
    const c = v.evidence.active!.checks.find((x) => x.name === 'plaintext-served');
    assert.ok(c?.ok, `${v.path}: ${c?.detail}`);
    assert.not.ok(v.evidence.active!.facts.handshake.ok, `${v.path}: no TLS offered`);
  }
});

test('mtls paths: no client cert and a foreign-CA cert refused, the real one accepted, TLS >= 1.2', async () => {
  const r = (await profileMatrix()).find((x) => x.scenario.name === 'grpc-mtls')!;
  for (const v of r.verdicts.filter((x) => x.expected.state === 'mtls')) {
    const f = v.evidence.active!.facts;
    assert.not.ok(f.withoutClientCert?.accepted, v.path);
    assert.match(String(f.withoutClientCert?.detail), /certificate required/);
    assert.not.ok(f.withForeignClientCert?.accepted, v.path);
    assert.ok(f.withClientCert?.accepted, v.path);
    assert.equal(
      f.legacy.map((l) => l.accepted),
      [false, false],
    );
    assert.ok(['TLSv1.2', 'TLSv1.3'].includes(String(f.handshake.protocol)));
  }
});

test('--strict: the internal Envoy redirects port 80, engine->knative is https with no warning', async () => {
  const r = await runLab(buildScenario({ profile: 'full-mtls', strict: true }), { helm: testHelm });
  const v = r.verdicts.find((x) => x.path === 'engine->knative')!;
  assert.is(v.status, 'pass', v.reason);
  assert.is(v.observed, 'https');
  assert.equal(v.warnings, []);
  assert.ok(r.verdicts.every((x) => x.ok));
});

test('a custom feature set in another namespace: names derive from the namespace', async () => {
  const s = buildScenario({ features: 'grpc-tls,services', namespace: 'tenant-a', serviceNamespace: 'fn-a' });
  const r = await runLab(s, { helm: testHelm });
  assert.ok(
    r.verdicts.every((v) => v.ok),
    r.verdicts.map((v) => `${v.path}: ${v.reason}`).join('\n'),
  );
  const target = (id: string) => r.verdicts.find((v) => v.path === id)!.evidence.active!.target.serverName;
  assert.is(target('sidecar->engine'), 'direktiv-flow-hl.tenant-a');
  assert.is(target('engine->pod'), '10-244-0-99.fn-a.pod');
  assert.is(target('engine->knative'), 'workflow-probe.fn-a');
});

test('as-documented full-mtls: the page fails exactly where the errata say', async () => {
  const r = await runLab(buildScenario({ profile: 'full-mtls', mode: 'as-documented' }), { helm: testHelm });
  const failing = r.verdicts.filter((v) => !v.ok);
  assert.equal(
    failing.map((v) => v.path),
    [
      'api->engine',
      'api->functions',
      'engine->functions',
      'sidecar->engine',
      'pod->engine',
      'engine->knative',
      'engine->pod',
    ],
  );
  const reason = (id: string) => failing.find((v) => v.path === id)!.reason;
  // Erratum 1: isolates.* does nothing, 5555 stays plaintext.
  assert.match(reason('api->functions'), /^plaintext gRPC accepted on 5555/);
  // Erratum 3: no functionsCA Secret in the release namespace, the engine never starts.
  assert.match(reason('api->engine'), /no TLS on 6666: connect ECONNREFUSED/);
  assert.match(reason('engine->knative'), /Secret default\/direktiv-cert-knative .* does not exist/);
  // Erratum 5: the Pod certificate lacks the pod name.
  assert.match(reason('engine->pod'), /certificate lacks 10-244-0-99\.direktiv-services-direktiv\.pod/);
  assert.ok(r.notes.some((n) => /Deployment default\/direktiv cannot start/.test(n)));
  assert.ok(r.deviations.some((d) => d.id === 3 && d.effect.startsWith('not applied')));
});

test('as-documented grpc-mtls: sidecars and pods cannot start without the service-namespace Secret', async () => {
  const r = await runLab(buildScenario({ profile: 'grpc-mtls', mode: 'as-documented' }), { helm: testHelm });
  const failing = r.verdicts.filter((v) => !v.ok);
  assert.equal(
    failing.map((v) => v.path),
    ['api->functions', 'engine->functions', 'sidecar->engine', 'pod->engine', 'engine->pod'],
  );
  assert.match(
    failing.find((v) => v.path === 'sidecar->engine')!.reason,
    /the real client \(sidecar\) failed: .*Secret direktiv-services-direktiv\/direktiv-cert-flow/,
  );
});

test.run();
