// The lab's imitation of a Direktiv Go server (scripts/lib/lab/servers.ts) against the real thing
// (tools/peers, Go crypto/tls with net/http and grpc-go): for each client-auth mode the probe must
// give the same verdict on every check, see the same state, the same plaintext refusal, and the
// same TLS version, cipher, ALPN and CertificateRequest for the real client. The one difference
// left is named in servers.ts: a foreign-CA client certificate is refused by Go with an alert in
// the handshake, by the lab with a close right after it (Node's TLS cannot fail verification in
// the handshake); both are refusals, so the verdicts agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ExpectedState } from '../../scenarios/index.ts';
import { type ClientAuth, goHandler, startListener } from '../../scripts/lib/lab/servers.ts';
import { probeTarget } from '../../scripts/lib/probe/probe.ts';
import type { ActivePathEvidence } from '../../scripts/lib/probe/types.ts';
import { getFixture } from '../probe/helpers/fixture.ts';
import { type RunningPeer, removeCerts, SERVER_NAME, startGoPeer } from './helpers/peers.ts';

async function labPeer(kind: 'http' | 'grpc', clientAuth: ClientAuth): Promise<RunningPeer> {
  const f = await getFixture();
  const l = await startListener(
    {
      tls: {
        cert: f.server['tls.crt'],
        key: f.server['tls.key'],
        clientCa: f.ca,
        clientAuth,
        alpn: kind === 'grpc' ? ['h2'] : ['h2', 'http/1.1'],
      },
      // As the lab's topology sets it: Go's net/http answers 400, a Go gRPC server closes.
      plainReply: kind === 'http' ? 'go-400' : 'close',
    },
    kind === 'grpc' ? { kind: 'grpc', component: 'lab' } : { kind: 'http', handler: goHandler('lab') },
  );
  return {
    name: `lab ${kind} ${clientAuth}`,
    port: l.port,
    protocol: kind,
    ...(kind === 'grpc' ? { alpn: ['h2'] } : {}),
    stop: () => l.close(),
  };
}

async function facts(peer: RunningPeer, expect: ExpectedState): Promise<ActivePathEvidence> {
  const f = await getFixture();
  return probeTarget(
    {
      protocol: peer.protocol,
      address: '127.0.0.1',
      port: peer.port,
      serverName: SERVER_NAME,
      ...(peer.alpn ? { alpn: peer.alpn } : {}),
    },
    { state: expect },
    expect === 'mtls' ? { ca: f.ca, clientCert: f.client, foreignClientCert: f.foreignClient } : { ca: f.ca },
  );
}

/** What must agree between the imitation and the real server. */
function comparable(ev: ActivePathEvidence) {
  const legit = ev.expected.state === 'mtls' ? ev.facts.withClientCert : ev.facts.withoutClientCert;
  const tls = legit?.answer?.tls;
  return {
    checks: ev.checks.map(
      (c) => `${c.name}: ${c.ok ? 'pass' : c.status === 'inconclusive' ? 'inconclusive' : 'fail'}`,
    ),
    observed: ev.observed,
    // The refusal of plaintext, word for word (Go's 400 text, or a close for gRPC).
    plaintext: ev.facts.plaintext.map(
      (p) => `${p.outcome}: ${p.detail.replace(/\(\d{4}-[^)]*\)/g, '(time)')}`,
    ),
    noClientCert: ev.facts.withoutClientCert?.answer?.alert ?? ev.facts.withoutClientCert?.answer?.outcome,
    legitimate: [legit?.accepted, tls?.version, tls?.cipher, tls?.alpn, tls?.certificateRequested],
  };
}

const MODES: Array<[ClientAuth, 'require' | 'if-given' | 'none', ExpectedState]> = [
  ['require-verify', 'require', 'mtls'],
  ['verify-if-given', 'if-given', 'mtls'],
  ['none', 'none', 'tls'],
];

for (const kind of ['http', 'grpc'] as const) {
  for (const [labAuth, goAuth, expect] of MODES) {
    test(`lab ${kind} ${labAuth} behaves as Go ${kind === 'grpc' ? 'grpc-go' : 'net/http'} ${goAuth}`, async () => {
      const got: Array<ReturnType<typeof comparable>> = [];
      for (const start of [
        () => labPeer(kind, labAuth),
        () => startGoPeer(`go-${kind}-${goAuth}`, { kind, clientAuth: goAuth }),
      ]) {
        const peer = await start();
        try {
          got.push(comparable(await facts(peer, expect)));
        } finally {
          await peer.stop();
        }
      }
      assert.equal(got[0], got[1], `lab (actual) vs Go (expected), ${kind} ${labAuth}`);
    });
  }
}

test.after(async () => {
  await removeCerts();
});

test.run();
