// The Knative settings: patch documents for ConfigMaps of the Knative release.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MODES, PROFILE_NAMES } from '../../scenarios/index.ts';
import {
  KNATIVE_SERVING_NAMESPACE,
  knativeSettings,
  knativeState,
  kubectlPatchArgs,
} from '../../scenarios/knative-settings.ts';
import { schemaErrors } from '../../scripts/lib/chart/index.ts';
import { scenario } from './helpers/fixtures.ts';

test('no Knative change without the services feature', () => {
  for (const mode of MODES) {
    for (const p of PROFILE_NAMES.filter((x) => x !== 'full-mtls')) {
      assert.equal(knativeSettings(scenario(p, mode)), [], `${p} ${mode}`);
    }
  }
});

test("services: the page's config-contour patch in both modes; httpProtocol only under --strict", () => {
  for (const mode of MODES) {
    const s = knativeSettings(scenario('full-mtls', mode));
    assert.equal(
      s.map((x) => [x.patch.metadata.namespace, x.patch.metadata.name, x.patch.data]),
      [
        [
          KNATIVE_SERVING_NAMESPACE,
          'config-contour',
          { 'default-tls-secret': 'contour-internal/direktiv-cert-knative' },
        ],
      ],
    );
    assert.equal(knativeState(s), {
      httpProtocol: 'Enabled',
      defaultTlsSecret: 'contour-internal/direktiv-cert-knative',
    });
    const strict = knativeSettings(scenario('full-mtls', mode, { strict: true }));
    assert.equal(strict[1]?.patch.data, { httpProtocol: 'Redirected' });
    assert.equal(strict[1]?.errata, [7]);
    assert.is(knativeState(strict).httpProtocol, 'Redirected');
  }
});

test('patches are valid partial ConfigMaps and kubectl merge-patch arguments', () => {
  for (const { patch } of knativeSettings(scenario('full-mtls', 'corrected', { strict: true }))) {
    assert.equal(schemaErrors(patch), []);
    const args = kubectlPatchArgs(patch);
    assert.equal(args.slice(0, 7), [
      'patch',
      'configmap',
      patch.metadata.name,
      '--namespace',
      KNATIVE_SERVING_NAMESPACE,
      '--type',
      'merge',
    ]);
    assert.equal(JSON.parse(args[8] ?? ''), { data: patch.data });
  }
});

test.run();
