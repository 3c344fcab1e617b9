// Whether the server asked for a client certificate, read off the wire (TLS 1.2 in clear, TLS 1.3
// by decrypting the server's handshake flight), against real OpenSSL servers on loopback.
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeAnswer } from '../../scripts/lib/probe/answer.ts';
import { httpsAttempt } from '../../scripts/lib/probe/http.ts';
import { serverFlightFacts } from '../../scripts/lib/probe/observe.ts';
import { dialObserved } from '../../scripts/lib/probe/tls.ts';
import { getFixture, SERVER_NAME } from './helpers/fixture.ts';

async function server(requestCert: boolean, version: tls.SecureVersion, answer = true) {
  const f = await getFixture();
  const s = tls.createServer({
    cert: f.server['tls.crt'],
    key: f.server['tls.key'],
    ca: f.ca,
    requestCert,
    rejectUnauthorized: false,
    minVersion: version,
    maxVersion: version,
  });
  s.on('secureConnection', (c) => {
    c.on('error', () => c.destroy());
    if (answer) c.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { port: (s.address() as AddressInfo).port, close: () => s.close() };
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: a CertificateRequest is seen when sent, and only then`, async () => {
    const f = await getFixture();
    for (const requested of [true, false]) {
      const s = await server(requested, version);
      try {
        const d = await dialObserved({
          address: '127.0.0.1',
          port: s.port,
          serverName: SERVER_NAME,
          ca: f.ca,
          clientCert: f.client,
        });
        assert.ok(d.socket, d.error);
        assert.is(d.socket!.getProtocol(), version);
        const flight = d.flight();
        d.socket!.destroy();
        assert.is(flight.certificateRequested, requested, `${version} requestCert=${requested}`);
        assert.match(String(flight.how), version === 'TLSv1.3' ? /decrypted/ : /cleartext/);
        const a = await httpsAttempt({
          address: '127.0.0.1',
          port: s.port,
          serverName: SERVER_NAME,
          ca: f.ca,
          alpn: ['http/1.1'],
          request: { path: '/' },
        });
        assert.ok(a.accepted, a.detail);
        assert.is(a.answer?.tls?.certificateRequested, requested);
        assert.match(
          describeAnswer(a.answer!),
          new RegExp(
            `^answered \\(http\\); HTTP/1.1 200 OK; \\[${version.replace('.', '\\.')} .*${requested ? 'client certificate requested' : 'no client certificate requested'}\\]$`,
          ),
        );
      } finally {
        s.close();
      }
    }
  });
}

test('no server bytes, or bytes that are not TLS: nothing claimed', () => {
  assert.equal(serverFlightFacts(Buffer.alloc(0)), { firstBytes: '' });
  const http = serverFlightFacts(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
  assert.is(http.certificateRequested, undefined);
  assert.is(http.firstBytes, Buffer.from('HTTP/1.1 400 Bad').toString('hex'));
});

test('no answer after the handshake is a refusal, with the session recorded', async () => {
  const s = await server(true, 'TLSv1.3', false);
  try {
    const a = await httpsAttempt({
      address: '127.0.0.1',
      port: s.port,
      serverName: SERVER_NAME,
      alpn: ['http/1.1'],
      timeoutMs: 500,
      request: { path: '/' },
    });
    assert.not.ok(a.accepted);
    assert.is(a.answer?.outcome, 'refused');
    assert.is(a.answer?.tls?.version, 'TLSv1.3');
    assert.is(a.answer?.tls?.certificateRequested, true);
  } finally {
    s.close();
  }
});

test.run();
