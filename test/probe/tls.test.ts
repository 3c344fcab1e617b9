import net from 'node:net';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dialTls, goCheckServerIdentity, handshakeFacts, legacyFacts } from '../../scripts/lib/probe/tls.ts';
import { getFixture, Listeners, SERVER_NAME, tlsConfig } from './helpers/fixture.ts';

const L = new Listeners();
test.after.each(() => L.stop());

test('handshake facts against the profile CA: version, chain, name, validity', async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.server), plainReply: 'close' });
  const { facts, socket } = await handshakeFacts({
    address: '127.0.0.1',
    port: l.port,
    serverName: SERVER_NAME,
    ca: f.ca,
  });
  socket?.destroy();
  assert.ok(facts.ok);
  assert.is(facts.protocol, 'TLSv1.3');
  assert.is(facts.alpn, null, 'no ALPN offered, none chosen');
  assert.ok(facts.chain?.ok, facts.chain?.detail);
  assert.match(facts.chain!.detail, /is signed by CN=probe-test-ca/);
  assert.ok(facts.name?.ok, facts.name?.detail);
  assert.ok(facts.validity?.ok);
  assert.is(facts.authorizationError, null);
  assert.match(facts.peer!.subjectAltName, /DNS:svc\.test/);
  assert.not.match(JSON.stringify(facts), /PRIVATE KEY/);
});

test("a foreign CA fails the chain check; OpenSSL's reason is kept verbatim", async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.foreignServer), plainReply: 'close' });
  const { facts, socket } = await handshakeFacts({
    address: '127.0.0.1',
    port: l.port,
    serverName: SERVER_NAME,
    ca: f.ca,
  });
  socket?.destroy();
  assert.ok(facts.ok, 'the handshake itself completes (the probe does not abort on trust)');
  assert.not.ok(facts.chain!.ok);
  assert.match(facts.chain!.detail, /does not chain to the profile CA "CN=probe-test-ca"/);
  assert.is(facts.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.ok(facts.name!.ok, 'the name still matches');
});

test('an expired certificate fails validity, not the chain', async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.expiredServer), plainReply: 'close' });
  const { facts, socket } = await handshakeFacts({
    address: '127.0.0.1',
    port: l.port,
    serverName: SERVER_NAME,
    ca: f.ca,
  });
  socket?.destroy();
  assert.ok(facts.chain!.ok);
  assert.not.ok(facts.validity!.ok);
  assert.match(facts.validity!.detail, /^expired on \d{4}-/);
  assert.is(facts.authorizationError, 'CERT_HAS_EXPIRED');
});

test('name check follows Go: *.default matches a.default (Node alone would refuse it)', async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.server), plainReply: 'close' });
  const sock = await dialTls({
    address: '127.0.0.1',
    port: l.port,
    serverName: 'direktiv-api-service.default',
    ca: f.ca,
  });
  const cert = sock.getPeerCertificate();
  sock.destroy();
  assert.is(goCheckServerIdentity('direktiv-api-service.default', cert), undefined);
  assert.ok(
    tls.checkServerIdentity('direktiv-api-service.default', cert) instanceof Error,
    'Node refuses *.tld',
  );
  const miss = goCheckServerIdentity('direktiv-flow-hl.tenant', cert);
  assert.match(
    String(miss?.message),
    /x509: certificate is valid for svc\.test, \*\.default, not direktiv-flow-hl\.tenant/,
  );
  assert.not.ok(goCheckServerIdentity('a.b.default', cert) === undefined, 'a wildcard covers one label only');
});

test('a verifying dial refuses a wrong name and a foreign CA, like the real Go clients', async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.server), plainReply: 'close' });
  try {
    await dialTls({ address: '127.0.0.1', port: l.port, serverName: 'other.test', ca: f.ca, verify: true });
    assert.unreachable('name mismatch must fail');
  } catch (e) {
    assert.match(String((e as Error).message), /not other\.test/);
  }
  const l2 = await L.start({ tls: tlsConfig(f.foreignServer), plainReply: 'close' });
  try {
    await dialTls({ address: '127.0.0.1', port: l2.port, serverName: SERVER_NAME, ca: f.ca, verify: true });
    assert.unreachable('foreign CA must fail');
  } catch (e) {
    assert.match(String((e as Error).message), /unable to verify the first certificate/);
  }
});

test('TLS 1.0/1.1: refused by a default server, accepted by a legacy one', async () => {
  const f = await getFixture();
  const modern = await L.start({ tls: tlsConfig(f.server), plainReply: 'close' });
  const legacy = await L.start({ tls: tlsConfig(f.server, { legacy: true }), plainReply: 'close' });
  const m = await legacyFacts({ address: '127.0.0.1', port: modern.port, serverName: SERVER_NAME });
  assert.equal(
    m.map((x) => x.accepted),
    [false, false],
  );
  assert.match(m[0]!.detail, /protocol version|unsupported protocol/i);
  const g = await legacyFacts({ address: '127.0.0.1', port: legacy.port, serverName: SERVER_NAME });
  assert.equal(
    g.map((x) => [x.version, x.accepted, x.detail]),
    [
      ['TLSv1', true, 'handshake completed with TLSv1'],
      ['TLSv1.1', true, 'handshake completed with TLSv1.1'],
    ],
  );
});

test('every dial has a deadline; the error says so', async () => {
  // Accepts TCP and never answers the ClientHello.
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const port = (silent.address() as net.AddressInfo).port;
  const { facts } = await handshakeFacts({
    address: '127.0.0.1',
    port,
    serverName: SERVER_NAME,
    timeoutMs: 150,
  });
  silent.close();
  assert.not.ok(facts.ok);
  assert.is(facts.error, 'no TLS handshake within 150 ms');
});

test.run();
