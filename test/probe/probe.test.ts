// probeTarget end to end: facts gathered and judged in one call.
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probeTarget } from '../../scripts/lib/probe/probe.ts';
import { getFixture, Listeners, SERVER_NAME, tlsConfig } from './helpers/fixture.ts';

const L = new Listeners();
test.after.each(() => L.stop());

test('a server stuck below TLS 1.2 is reported as such, not just as "no TLS"', async () => {
  const f = await getFixture();
  const server = tls.createServer({
    cert: f.server['tls.crt'],
    key: f.server['tls.key'],
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  });
  server.on('secureConnection', (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  try {
    const ev = await probeTarget(
      { protocol: 'http', address: '127.0.0.1', port, serverName: SERVER_NAME },
      { state: 'tls' },
      { ca: f.ca },
    );
    const reasons = ev.checks.filter((c) => !c.ok && c.status !== 'inconclusive').map((c) => c.reason);
    assert.is(reasons.length, 2, reasons.join(' | '));
    assert.match(
      String(reasons[0]),
      new RegExp(`^no TLS on ${port}: .*(protocol version|unsupported protocol)`, 'i'),
    );
    assert.is(reasons[1], `TLS 1.0 and TLS 1.1 accepted on ${port}`);
  } finally {
    server.close();
  }
});

test('a gRPC port serving TLS and plaintext alike: observed tls+plain, fails tls', async () => {
  const f = await getFixture();
  const l = await L.start(
    { tls: tlsConfig(f.server, { alpn: ['h2'] }), plainReply: 'close', acceptPlain: true },
    { kind: 'grpc', component: 'test' },
  );
  const ev = await probeTarget(
    { protocol: 'grpc', address: '127.0.0.1', port: l.port, displayPort: 6666, serverName: SERVER_NAME },
    { state: 'tls' },
    { ca: f.ca },
  );
  assert.is(ev.observed, 'tls+plain');
  assert.equal(
    ev.checks.filter((c) => !c.ok).map((c) => c.reason),
    ['plaintext gRPC accepted on 6666'],
  );
  assert.ok(ev.durationMs >= 0);
});

test.run();
