import { X509Certificate } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CertSpec, IssuerSpec } from '../../scenarios/index.ts';
import { LabPki } from '../../scripts/lib/lab/pki.ts';

/** Node 23+ names it extKeyUsage (keyUsage deprecated); Node 20 only has keyUsage. */
const eku = (c: X509Certificate): string[] | undefined =>
  (c as unknown as { extKeyUsage?: string[] }).extKeyUsage ?? c.keyUsage;

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const issuers: IssuerSpec[] = [
  { kind: 'ClusterIssuer', name: 'selfsigned-issuer', type: 'selfSigned' },
  { kind: 'ClusterIssuer', name: 'direktiv-ca', type: 'ca', caSecret: 'direktiv-ca' },
];
const base: Pick<CertSpec, 'usages' | 'isCA'> = { usages: [], isCA: false };
const certs: CertSpec[] = [
  // Listed before its CA on purpose: issuing must wait for the CA Secret.
  {
    ...base,
    name: 'direktiv-cert-flow',
    namespace: 'default',
    secretName: 'direktiv-cert-flow',
    dnsNames: ['direktiv-flow-hl.default', '*.default'],
    usages: ['server auth', 'client auth'],
    issuer: { kind: 'ClusterIssuer', name: 'direktiv-ca' },
  },
  {
    ...base,
    name: 'direktiv-ca',
    namespace: 'cert-manager',
    secretName: 'direktiv-ca',
    dnsNames: [],
    isCA: true,
    commonName: 'direktiv-system',
    issuer: { kind: 'ClusterIssuer', name: 'selfsigned-issuer' },
  },
  {
    ...base,
    name: 'direktiv-lb',
    namespace: 'default',
    secretName: 'direktiv-lb',
    dnsNames: ['localhost', 'direktiv.tls.test'],
    issuer: { kind: 'ClusterIssuer', name: 'selfsigned-issuer' },
  },
];

test('issues a cert-manager style chain: CA Secret, CA-issued leaf, self-signed leaf', async () => {
  const pki = await LabPki.issue('pki-test', issuers, certs);
  const ca = pki.secret('cert-manager', 'direktiv-ca')!;
  const caCert = new X509Certificate(ca['tls.crt']);
  assert.ok(caCert.ca, 'the CA Certificate is a CA');
  assert.is(caCert.subject, 'CN=direktiv-system');
  assert.is(ca['ca.crt'], ca['tls.crt'], 'a self-signed certificate is its own ca.crt');

  const flow = pki.secret('default', 'direktiv-cert-flow')!;
  const leaf = new X509Certificate(flow['tls.crt']);
  assert.is(flow['ca.crt'], ca['tls.crt'], 'a CA-issued Secret carries the CA as ca.crt');
  assert.ok(leaf.verify(caCert.publicKey), 'the leaf is signed by the CA key');
  assert.ok(leaf.checkIssued(caCert));
  assert.not.ok(leaf.ca);
  assert.is(leaf.subjectAltName, 'DNS:direktiv-flow-hl.default, DNS:*.default');
  assert.equal(eku(leaf), [SERVER_AUTH, CLIENT_AUTH]);
  assert.not.ok(leaf.subject, 'no commonName: empty subject, like cert-manager');
  assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(flow['tls.key'])));
  // Valid now, for cert-manager's default 90 days.
  const days = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 89 && days <= 90, `validity ${days} days`);

  const lb = pki.secret('default', 'direktiv-lb')!;
  assert.is(lb['ca.crt'], lb['tls.crt']);
  assert.is(eku(new X509Certificate(lb['tls.crt'])), undefined, 'no usages: no EKU extension (any purpose)');
});

test('usages map to key usage and EKU as cert-manager does', async () => {
  const pki = await LabPki.issue('pki-test', issuers, certs);
  const clientOnly = await pki.leaf(
    'client-only',
    { dnsNames: ['c.test'], usages: ['client auth'] },
    { ca: { namespace: 'default', secretName: 'direktiv-cert-flow' } },
  );
  assert.equal(eku(new X509Certificate(clientOnly['tls.crt'])), [CLIENT_AUTH]);
});

test('flawed leaves: foreign CA, expired, self-signed with an issued key', async () => {
  const pki = await LabPki.issue('pki-test', issuers, certs);
  const caCert = new X509Certificate(pki.secret('cert-manager', 'direktiv-ca')!['tls.crt']);
  const foreign = await pki.leaf('f', { dnsNames: ['a.test'], usages: ['server auth'] }, 'foreign');
  const f = new X509Certificate(foreign['tls.crt']);
  assert.not.ok(f.verify(caCert.publicKey), 'a foreign leaf does not verify against the profile CA');
  assert.ok(f.verify(new X509Certificate(pki.foreignCaPem).publicKey));

  const expired = await pki.leaf(
    'e',
    { dnsNames: ['a.test'], usages: ['server auth'], validity: 'expired' },
    { ca: { namespace: 'default', secretName: 'direktiv-cert-flow' } },
  );
  const e = new X509Certificate(expired['tls.crt']);
  assert.ok(Date.parse(e.validTo) < Date.now(), 'expired in the past');
  assert.ok(e.verify(caCert.publicKey), 'still signed by the profile CA');

  const pinned = new X509Certificate(pki.secret('default', 'direktiv-lb')!['tls.crt']);
  const sameKey = await pki.leaf(
    's',
    { dnsNames: ['other.test'], usages: [] },
    { selfWithKeyOf: { namespace: 'default', secretName: 'direktiv-lb' } },
  );
  assert.ok(
    new X509Certificate(sameKey['tls.crt']).verify(pinned.publicKey),
    'same key as the pinned certificate',
  );
});

test('clear errors for specs that cannot be issued', async () => {
  const missingIssuer: CertSpec = { ...certs[0]!, issuer: { kind: 'ClusterIssuer', name: 'nope' } };
  try {
    await LabPki.issue('pki-test-bad', issuers, [missingIssuer]);
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, /refers to ClusterIssuer nope, which is not defined/);
  }
  try {
    // The CA issuer's Secret is never issued.
    await LabPki.issue('pki-test-bad', issuers, [certs[0]!]);
    assert.unreachable('should throw');
  } catch (e) {
    assert.match(
      (e as Error).message,
      /cannot issue default\/direktiv-cert-flow .*CA Secret is never issued/,
    );
  }
});

test.run();
