// readCertSpecs: the rendering in the shapes of scenarios/certificates.ts (the lab's source).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readCertSpecs } from '../../scripts/lib/chart/index.ts';
import { copy, rendered, scenario } from './helpers/fixtures.ts';

test('full-mtls corrected: issuers and certificates read', async () => {
  const { issuers, certs } = readCertSpecs(await rendered(scenario('full-mtls', 'corrected')));
  assert.equal(issuers, [
    { kind: 'ClusterIssuer', name: 'selfsigned-issuer', type: 'selfSigned' },
    { kind: 'ClusterIssuer', name: 'direktiv-ca', type: 'ca', caSecret: 'direktiv-ca' },
  ]);
  const ca = certs.find((c) => c.isCA);
  assert.equal(ca, {
    name: 'direktiv-ca',
    namespace: 'cert-manager',
    secretName: 'direktiv-ca',
    dnsNames: [],
    usages: [],
    isCA: true,
    issuer: { kind: 'ClusterIssuer', name: 'selfsigned-issuer' },
    commonName: 'direktiv-system',
  });
  const svc = certs.find((c) => c.namespace === 'direktiv-services-direktiv');
  assert.equal(svc?.usages, ['digital signature', 'key encipherment', 'server auth', 'client auth']);
  assert.ok(svc?.dnsNames.includes('*.direktiv-services-direktiv.pod'));
  assert.is(certs.length, 9);
  assert.ok(
    certs
      .filter((c) => !c.isCA)
      .every((c) => c.issuer.name === (c.name === 'direktiv-lb' ? 'selfsigned-issuer' : 'direktiv-ca')),
  );
});

test('as-documented: cert-manager default usages read as an empty list', async () => {
  const { certs } = readCertSpecs(await rendered(scenario('full-mtls', 'as-documented')));
  assert.equal(certs.find((c) => c.name === 'direktiv-cert-knative')?.usages, []);
  assert.equal(certs.find((c) => c.name === 'direktiv-cert-fn')?.usages, ['server auth', 'client auth']);
});

test('an issuer or usage the lab cannot model is refused, not dropped', async () => {
  const objects = copy(await rendered(scenario('full-mtls', 'corrected')));
  const c = objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'direktiv-cert-fn');
  assert.ok(c);
  c.spec.usages = ['server auth', 'code signing'];
  assert.throws(() => readCertSpecs(objects), /usages not modelled: code signing/);
  c.spec.usages = ['server auth'];
  const i = objects.find((o) => o.kind === 'ClusterIssuer');
  assert.ok(i);
  i.spec = { acme: {} };
  assert.throws(() => readCertSpecs(objects), /only selfSigned and ca issuers/);
});

test.run();
