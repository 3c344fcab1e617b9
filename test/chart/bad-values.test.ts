// Bad chart values fail `helm template` with a message that says what is wrong and what is valid.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HelmError, helmTemplate, PROFILE_CHART_DIR } from '../../scripts/lib/chart/index.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

async function reason(values: object): Promise<string> {
  const helm = await testHelm();
  try {
    await helmTemplate({ helm, chartDir: PROFILE_CHART_DIR, releaseName: 'r', namespace: 'default', values });
  } catch (e) {
    assert.instance(e, HelmError);
    return (e as HelmError).reason;
  }
  throw new Error(`helm template accepted ${JSON.stringify(values)}`);
}

test('unknown profile lists the valid ones', async () => {
  assert.is(
    await reason({ profile: 'ful-mtls' }),
    "unknown profile 'ful-mtls': valid profiles: plain, ingress-tls, upstream-tls, grpc-tls, grpc-mtls, full-mtls",
  );
});

test('grpc-mtls without grpc-tls is refused', async () => {
  assert.match(
    await reason({ features: ['ingress', 'grpc-mtls'] }),
    'conflicting features: grpc-mtls needs grpc-tls',
  );
});

test('malformed namespaces are refused, naming the value', async () => {
  assert.match(
    await reason({ profile: 'plain', namespace: 'Direktiv_NS' }),
    "malformed namespace for namespace: 'Direktiv_NS'",
  );
  assert.match(
    await reason({ profile: 'plain', serviceNamespace: '-svc' }),
    "malformed namespace for serviceNamespace: '-svc'",
  );
  assert.match(await reason({ profile: 'plain', serviceNamespace: 'x'.repeat(64) }), 'at most 63 characters');
  assert.match(
    await reason({ profile: 'plain', certManagerNamespace: 'cert.manager' }),
    'certManagerNamespace',
  );
  assert.match(
    await reason({ profile: 'plain', serviceNamespace: 'default' }),
    "serviceNamespace equals namespace ('default')",
  );
});

test('missing, unknown, duplicate and conflicting values are refused', async () => {
  assert.match(await reason({}), 'missing value: set profile (one of: plain, ingress-tls');
  assert.match(
    await reason({ features: ['ingress', 'quic'] }),
    "unknown feature 'quic': valid features: ingress, upstream",
  );
  assert.match(await reason({ features: ['ingress', 'ingress'] }), 'listed twice');
  assert.match(await reason({ profile: 'plain', features: ['ingress'] }), 'profile and features conflict');
  assert.match(
    await reason({ profile: 'plain', mode: 'verbatim' }),
    "unknown mode 'verbatim': valid modes: corrected, as-documented",
  );
  assert.match(await reason({ profile: 'ingress-tls', ingressHost: '' }), 'missing value: ingressHost');
  assert.match(
    await reason({ profile: 'ingress-tls', ingressHost: 'Bad..host' }),
    "malformed ingressHost 'Bad..host'",
  );
  assert.match(await reason({ profile: 'plain', serviceNamespace: '' }), 'missing value: serviceNamespace');
});

test('a misspelt value name is refused by the values schema', async () => {
  assert.match(await reason({ profile: 'plain', namepsace: 'x' }), 'namepsace');
  assert.match(await reason({ profile: 'plain', features: 'ingress' }), 'features');
});

test.run();
