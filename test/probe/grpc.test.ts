// The grpc-js failure modes the probe relies on (shared/stack.md), against real grpc-js servers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grpcCall } from '../../scripts/lib/probe/grpc.ts';
import { getFixture, Listeners, SERVER_NAME, tlsConfig } from './helpers/fixture.ts';

const L = new Listeners();
test.after.each(() => L.stop());
const GRPC = { kind: 'grpc', component: 'test' } as const;
const h2 = { alpn: ['h2'] };

test('plaintext call to a plaintext server: answered (SERVING)', async () => {
  const l = await L.start({ plainReply: 'close' }, GRPC);
  const r = await grpcCall({
    address: '127.0.0.1',
    port: l.port,
    serverName: SERVER_NAME,
    credentials: { kind: 'insecure' },
  });
  assert.ok(r.answered);
  assert.is(r.code, 0);
  assert.is(r.servingStatus, 'SERVING');
});

test('insecure client to a TLS server: UNAVAILABLE, not answered', async () => {
  const f = await getFixture();
  const l = await L.start({ tls: tlsConfig(f.server, h2), plainReply: 'close' }, GRPC);
  const r = await grpcCall({
    address: '127.0.0.1',
    port: l.port,
    serverName: SERVER_NAME,
    credentials: { kind: 'insecure' },
  });
  assert.not.ok(r.answered);
  assert.is(r.codeName, 'UNAVAILABLE');
});

test('TLS client to a plaintext server: "wrong version number"', async () => {
  const f = await getFixture();
  const l = await L.start({ plainReply: 'close' }, GRPC);
  const r = await grpcCall({
    address: '127.0.0.1',
    port: l.port,
    serverName: SERVER_NAME,
    credentials: { kind: 'tls', ca: f.ca, verify: true },
  });
  assert.is(r.codeName, 'UNAVAILABLE');
  assert.match(r.details, /wrong version number/);
});

test('mTLS server: no certificate "certificate required", foreign refused, real accepted', async () => {
  const f = await getFixture();
  const l = await L.start(
    { tls: tlsConfig(f.server, { ...h2, clientAuth: 'require-verify' }), plainReply: 'close' },
    GRPC,
  );
  const call = (clientCert?: { cert: string; key: string }) =>
    grpcCall({
      address: '127.0.0.1',
      port: l.port,
      serverName: SERVER_NAME,
      credentials: { kind: 'tls', ca: f.ca, verify: true, ...(clientCert ? { clientCert } : {}) },
    });
  const none = await call();
  assert.not.ok(none.answered);
  assert.match(none.details, /certificate required/);
  const foreign = await call(f.foreignClient);
  assert.not.ok(foreign.answered);
  assert.is(foreign.codeName, 'UNAVAILABLE');
  const real = await call(f.client);
  assert.is(real.code, 0, real.details);
});

test('verifying client: untrusted CA and wrong name are refused with their reasons', async () => {
  const f = await getFixture();
  const foreign = await L.start({ tls: tlsConfig(f.foreignServer, h2), plainReply: 'close' }, GRPC);
  const r1 = await grpcCall({
    address: '127.0.0.1',
    port: foreign.port,
    serverName: SERVER_NAME,
    credentials: { kind: 'tls', ca: f.ca, verify: true },
  });
  assert.match(r1.details, /unable to verify the first certificate|self-signed certificate/);
  const good = await L.start({ tls: tlsConfig(f.server, h2), plainReply: 'close' }, GRPC);
  const r2 = await grpcCall({
    address: '127.0.0.1',
    port: good.port,
    serverName: 'direktiv-flow-hl.elsewhere',
    credentials: { kind: 'tls', ca: f.ca, verify: true },
  });
  assert.match(r2.details, /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/);
  // The same server answers once the probe stops judging the name (the name is checked elsewhere).
  const r3 = await grpcCall({
    address: '127.0.0.1',
    port: good.port,
    serverName: 'direktiv-flow-hl.elsewhere',
    credentials: { kind: 'tls', ca: f.ca, verify: false },
  });
  assert.is(r3.code, 0, r3.details);
});

test.run();
