import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort, envoyHandler } from '../../scripts/lib/lab/servers.ts';
import { GO_HTTPS_REFUSAL, httpsAttempt, httpsRequest, plainHttpFact } from '../../scripts/lib/probe/http.ts';
import { getFixture, Listeners, SERVER_NAME, tlsConfig } from './helpers/fixture.ts';

const L = new Listeners();
test.after.each(() => L.stop());
const at = (port: number) => ({ address: '127.0.0.1', port, host: SERVER_NAME });

test('plain HTTP server: plaintext served', async () => {
  const l = await L.start({ plainReply: 'go-400' });
  const p = await plainHttpFact(at(l.port));
  assert.is(p.outcome, 'served');
  assert.is(p.status, 200);
  assert.match(p.detail, /^HTTP\/1\.1 200 OK/);
});

test("Go HTTPS server: plaintext gets Go's 400, which is a refusal, not plaintext service", async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.server), plainReply: 'go-400' });
  const p = await plainHttpFact(at(l.port));
  assert.is(p.outcome, 'refused');
  assert.is(p.status, 400);
  assert.ok(p.detail.includes(GO_HTTPS_REFUSAL), p.detail);
  assert.equal(l.log, ['plaintext on a TLS port: Go 400']);
});

test('Envoy / gRPC style TLS port: plaintext closed without an answer', async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.server), plainReply: 'close' });
  const p = await plainHttpFact(at(l.port));
  assert.is(p.outcome, 'refused');
  assert.match(p.detail, /connection closed without an HTTP answer|ECONNRESET/);
});

test('port 80 redirect to https is told apart from service', async () => {
  const l = await L.start(
    { plainReply: 'close' },
    { kind: 'http', handler: envoyHandler({ hosts: [SERVER_NAME], redirect: true, answer: 'x' }) },
  );
  const p = await plainHttpFact({ ...at(l.port), path: '/api/x' });
  assert.is(p.outcome, 'redirected');
  assert.is(p.status, 301);
  assert.is(p.location, `https://${SERVER_NAME}/api/x`);
});

test('a server speaking only HTTP/2 in clear (h2c) is caught as plaintext service', async () => {
  const h2c = http2.createServer((_q, res) => res.end('h2c'));
  await new Promise<void>((r) => h2c.listen(0, '127.0.0.1', () => r()));
  const port = (h2c.address() as AddressInfo).port;
  const p = await plainHttpFact(at(port));
  h2c.close();
  assert.is(p.outcome, 'served');
  assert.match(p.detail, /h2c \(prior knowledge\): HTTP\/2 200/);
});

test('nothing listening: unreachable, with the error verbatim', async () => {
  const p = await plainHttpFact(at(await closedPort()));
  assert.is(p.outcome, 'unreachable');
  assert.match(p.detail, /ECONNREFUSED/);
});

test('HTTPS: HTTP/2 when ALPN picks h2, HTTP/1.1 otherwise', async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.server), plainReply: 'go-400' });
  const base = {
    address: '127.0.0.1',
    port: l.port,
    serverName: SERVER_NAME,
    ca: f.ca,
    verify: true,
    request: { path: '/x' },
  };
  const h2 = await httpsRequest({ ...base, alpn: ['h2', 'http/1.1'] });
  assert.is(h2.protocol, 'h2');
  assert.is(h2.status, 200);
  const h1 = await httpsRequest({ ...base, alpn: ['http/1.1'] });
  assert.is(h1.protocol, 'HTTP/1.x');
  assert.match(h1.bodySnippet, /"path":"\/x"/);
});

test('a dual port serves plaintext and TLS alike', async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.server), plainReply: 'go-400', acceptPlain: true });
  assert.is((await plainHttpFact(at(l.port))).outcome, 'served');
  const a = await httpsAttempt({
    address: '127.0.0.1',
    port: l.port,
    serverName: SERVER_NAME,
    ca: f.ca,
    request: {},
  });
  assert.ok(a.accepted, a.detail);
});

test('HTTPS with required client certificates: refused without, accepted with the right one', async () => {
  const f = await getFixture();
  const l = await L.start({
    tls: tlsConfig(f.server, { clientAuth: 'require-verify' }),
    plainReply: 'go-400',
  });
  const base = { address: '127.0.0.1', port: l.port, serverName: SERVER_NAME, ca: f.ca, request: {} };
  const none = await httpsAttempt(base);
  assert.not.ok(none.accepted);
  assert.match(none.detail, /certificate required/);
  assert.not.ok((await httpsAttempt({ ...base, clientCert: f.foreignClient })).accepted);
  const ok = await httpsAttempt({ ...base, clientCert: f.client });
  assert.ok(ok.accepted, ok.detail);
});

test.run();
