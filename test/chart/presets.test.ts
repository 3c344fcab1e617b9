// The chart's preset map (templates/_helpers.tpl) equals scenarios/profiles.ts: rendering a
// profile by name gives exactly the objects of rendering its features from profiles.ts, and
// every object says which features and preset the chart resolved.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FEATURES, MODES, PROFILE_NAMES, PROFILES } from '../../scenarios/index.ts';
import { rendered, scenario } from './helpers/fixtures.ts';

for (const mode of MODES) {
  test(`${mode}: profile=X renders the same objects as features=PROFILES[X].features`, async () => {
    for (const p of PROFILE_NAMES) {
      const s = scenario(p, mode);
      const byName = await rendered(s);
      if (PROFILES[p].features.length === 0) {
        // The chart refuses an empty feature list, so plain can only be named; it must render
        // nothing, and any non-empty set renders something (checked below), so its set is [].
        assert.equal(byName, [], p);
        continue;
      }
      const byFeatures = await rendered(s, { usePreset: false });
      assert.ok(byName.length > 0, p);
      assert.equal(byName, byFeatures, p);
      for (const o of byName) {
        assert.is(o.metadata.annotations?.['direktiv-tls-e2e/features'], PROFILES[p].features.join(','), p);
        assert.is(o.metadata.labels?.['direktiv-tls-e2e/profile'], p);
        assert.is(o.metadata.labels?.['direktiv-tls-e2e/mode'], mode);
      }
    }
  });
}

test('every single feature that may stand alone renders objects (so "renders nothing" means plain)', async () => {
  for (const f of FEATURES.filter((x) => x !== 'grpc-mtls')) {
    const s = scenario('plain', 'corrected');
    const objects = await rendered({ ...s, profile: null, features: [f] }, { usePreset: false });
    assert.ok(objects.length > 0, f);
    assert.is(
      objects[0]?.metadata.labels?.['direktiv-tls-e2e/profile'],
      f === 'ingress' ? 'ingress-tls' : 'custom',
    );
  }
});

test('feature order does not matter: the chart normalizes to the canonical order', async () => {
  const s = scenario('grpc-mtls', 'corrected');
  const shuffled = await rendered(s, {
    usePreset: false,
    features: ['grpc-mtls', 'upstream', 'grpc-tls', 'ingress'],
  });
  assert.equal(shuffled, await rendered(s));
});

test.run();
