import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, parseProfileList, UsageError } from '../../scenarios/index.ts';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError, nothing was thrown');
}

test('unknown profile lists the valid ones', () => {
  const e = usageError(() => buildScenario({ profile: 'ful-mtls' }));
  assert.match(e.message, "unknown profile 'ful-mtls'");
  assert.match(e.hint, 'plain, ingress-tls, upstream-tls, grpc-tls, grpc-mtls, full-mtls');
});

test('unknown feature names the valid ones', () => {
  const e = usageError(() => buildScenario({ features: 'ingress,quic' }));
  assert.match(e.message, 'unknown feature: quic');
  assert.match(e.hint, 'ingress, upstream, grpc-tls, grpc-mtls, services');
});

test('grpc-mtls without grpc-tls conflicts', () => {
  const e = usageError(() => buildScenario({ features: 'grpc-mtls' }));
  assert.match(e.message, 'grpc-mtls needs grpc-tls');
});

test('TLS on one engine port only is refused with the hazard named', () => {
  const e = usageError(() => buildScenario({ features: 'grpc-tls-flow' }));
  assert.match(e.hint, 'same credentials');
});

test('knative alone is refused: services are one feature', () => {
  const e = usageError(() => buildScenario({ features: 'knative' }));
  assert.match(e.hint, "use 'services'");
});

test('malformed namespace', () => {
  const e = usageError(() => buildScenario({ profile: 'plain', namespace: 'Direktiv_NS' }));
  assert.match(e.message, "malformed namespace for --namespace: 'Direktiv_NS'");
});

test('missing profile and features', () => {
  const e = usageError(() => buildScenario({}));
  assert.match(e.message, 'missing value');
});

test('profile and features together conflict', () => {
  usageError(() => buildScenario({ profile: 'plain', features: 'ingress' }));
});

test('a custom set equal to a preset takes the preset name; others are custom', () => {
  assert.is(buildScenario({ features: 'services,ingress' }).name, 'custom:ingress+services');
  assert.is(buildScenario({ features: 'ingress,upstream' }).name, 'upstream-tls');
  assert.equal(buildScenario({ features: 'services' }).features, ['services']);
});

test('--strict without services is refused', () => {
  usageError(() => buildScenario({ profile: 'grpc-tls', strict: true }));
});

test('profile lists', () => {
  assert.is(parseProfileList('all').length, 6);
  assert.equal(parseProfileList('plain, full-mtls'), ['plain', 'full-mtls']);
  usageError(() => parseProfileList('plain,nope'));
});

test.run();
