// The real-peers tier: every probe check against real servers built on TLS stacks other than
// Node's (nginx and haproxy from Debian, openssl s_server, Go net/http and grpc-go from the Go
// module proxy), each on 127.0.0.1. The table below is the expected verdict of every check on
// every peer; then one setting of a peer is changed and the verdict must change with it.
// `npm run test:peers`; the Go server is built once (tools/peers) and cached.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ExpectedState } from '../../scenarios/index.ts';
import { probeTarget } from '../../scripts/lib/probe/probe.ts';
import type { ActivePathEvidence, ObservedState } from '../../scripts/lib/probe/types.ts';
import { judgeActive } from '../../scripts/lib/verdict/verdict.ts';
import { getFixture } from '../probe/helpers/fixture.ts';
import {
  type RunningPeer,
  removeCerts,
  SERVER_NAME,
  startGoPeer,
  startHaproxy,
  startNginx,
  startSServer,
} from './helpers/peers.ts';

type V = 'pass' | 'fail' | 'inconclusive';
const P: V = 'pass';
const F: V = 'fail';
const I: V = 'inconclusive';
/** A check the probe does not make for that expectation. */
const _ = undefined;

/** The checks in the order of the table's columns (probe/checks.ts names). */
const COLUMNS = [
  'plaintext-refused',
  'tls-handshake',
  'legacy-tls-refused',
  'server-name',
  'no-client-cert-refused',
  'foreign-client-cert-refused',
  'client-cert-accepted',
  'answers-without-client-cert',
  'plaintext-served',
] as const;

/** Every other check the probe makes (tls-version, chain, validity) must pass wherever TLS works. */
const ALWAYS_PASS_WITH_TLS = ['tls-version', 'chain', 'validity'];

type Start = () => Promise<RunningPeer>;

interface Row {
  peer: string;
  start: Start;
  /** The expected state the peer is probed against (the profile state it stands for). */
  expect: ExpectedState;
  /** Expected verdict per check, in COLUMNS order. */
  checks: Array<V | undefined>;
  verdict: V;
  observed: ObservedState;
}

// biome-ignore format: a table reads best as one.
const TABLE: Row[] = [
  //  peer                                   probed as   plain  hands  legacy  name  no-cert foreign real  no-cert-ok served   verdict  observed
  row('nginx ssl_verify_client on',          'mtls', [P,     P,     P,      P,    P,      P,      P,    _,         _], P, 'mtls', () => startNginx('nginx-verify-on', { clientAuth: 'on' })),
  row('nginx optional + 403, h2',            'mtls', [P,     P,     P,      P,    P,      P,      P,    _,         _], P, 'mtls', () => startNginx('nginx-optional-403', { clientAuth: 'optional-403', http2: true })),
  row('nginx TLS 1.2 only',                  'tls',  [P,     P,     P,      P,    _,      _,      _,    P,         _], P, 'tls',  () => startNginx('nginx-tls12', { protocols: 'TLSv1.2' })),
  row('nginx TLS 1.3 only, h2',              'tls',  [P,     P,     P,      P,    _,      _,      _,    P,         _], P, 'tls',  () => startNginx('nginx-tls13', { protocols: 'TLSv1.3', http2: true })),
  row('nginx refusing everyone (403)',       'mtls', [I,     P,     I,      P,    I,      I,      I,    _,         _], I, 'tls',  () => startNginx('nginx-deny-all', { clientAuth: 'on', denyAll: true })),
  row('haproxy verify required',             'mtls', [P,     P,     P,      P,    P,      P,      P,    _,         _], P, 'mtls', () => startHaproxy('haproxy-required', { verify: 'required' })),
  row('haproxy verify optional + deny 403',  'mtls', [P,     P,     P,      P,    P,      P,      P,    _,         _], P, 'mtls', () => startHaproxy('haproxy-optional-403', { verify: 'optional-403' })),
  row('haproxy TLS 1.2 only',                'tls',  [P,     P,     P,      P,    _,      _,      _,    P,         _], P, 'tls',  () => startHaproxy('haproxy-tls12', { verify: 'none', minVer: 'TLSv1.2', maxVer: 'TLSv1.2' })),
  row('haproxy TLS 1.3 only',                'tls',  [P,     P,     P,      P,    _,      _,      _,    P,         _], P, 'tls',  () => startHaproxy('haproxy-tls13', { verify: 'none', minVer: 'TLSv1.3' })),
  row('Go net/http RequireAndVerify',        'mtls', [P,     P,     P,      P,    P,      P,      P,    _,         _], P, 'mtls', () => startGoPeer('go-http-require', { kind: 'http', clientAuth: 'require' })),
  row('Go net/http VerifyIfGiven',           'mtls', [P,     P,     P,      P,    F,      P,      P,    _,         _], F, 'tls',  () => startGoPeer('go-http-if-given', { kind: 'http', clientAuth: 'if-given' })),
  row('Go net/http NoClientCert',            'tls',  [P,     P,     P,      P,    _,      _,      _,    P,         _], P, 'tls',  () => startGoPeer('go-http-none', { kind: 'http', clientAuth: 'none' })),
  row('Go net/http MinVersion TLS 1.0',      'tls',  [P,     P,     F,      P,    _,      _,      _,    P,         _], F, 'tls',  () => startGoPeer('go-http-tls10', { kind: 'http', minTls: '1.0' })),
  row('Go net/http h2c',                     'plain',[_,     _,     _,      _,    _,      _,      _,    _,         P], P, 'plain',() => startGoPeer('go-http-h2c', { kind: 'http', h2c: true })),
  row('Go net/http h2c where TLS is due',     'tls',  [F,     F,     _,      _,    _,      _,      _,    _,         _], F, 'plain',() => startGoPeer('go-http-h2c', { kind: 'http', h2c: true })),
  row('grpc-go RequireAndVerify',            'mtls', [P,     P,     P,      P,    P,      P,      P,    _,         _], P, 'mtls', () => startGoPeer('grpc-require', { kind: 'grpc', clientAuth: 'require' })),
  row('grpc-go VerifyIfGiven',               'mtls', [P,     P,     P,      P,    F,      P,      P,    _,         _], F, 'tls',  () => startGoPeer('grpc-if-given', { kind: 'grpc', clientAuth: 'if-given' })),
  row('grpc-go NoClientCert',                'tls',  [P,     P,     P,      P,    _,      _,      _,    P,         _], P, 'tls',  () => startGoPeer('grpc-none', { kind: 'grpc', clientAuth: 'none' })),
  // grpc-go v1.78 keeps the HTTP/2 cipher list (no CBC): with MinVersion 1.0 alone it still refuses TLS 1.0.
  row('grpc-go MinVersion TLS 1.0',          'tls',  [P,     P,     P,      P,    _,      _,      _,    P,         _], P, 'tls',  () => startGoPeer('grpc-tls10', { kind: 'grpc', minTls: '1.0' })),
  // ... with Go's own list (grpc-go v1.36, Direktiv v0.4.1's, sets none) it accepts it.
  row('grpc-go TLS 1.0 + Go cipher list',    'tls',  [P,     P,     F,      P,    _,      _,      _,    P,         _], F, 'tls',  () => startGoPeer('grpc-tls10-ciphers', { kind: 'grpc', minTls: '1.0', goCiphers: true })),
  row('grpc-go insecure (h2c)',              'plain',[_,     _,     _,      _,    _,      _,      _,    _,         P], P, 'plain',() => startGoPeer('grpc-h2c', { kind: 'grpc', h2c: true })),
  row('grpc-go insecure where mTLS is due',  'mtls', [F,     F,     _,      _,    _,      _,      _,    _,         _], F, 'plain',() => startGoPeer('grpc-h2c', { kind: 'grpc', h2c: true })),
  row('openssl s_server -Verify',            'mtls', [P,     P,     P,      P,    P,      P,      P,    _,         _], P, 'mtls', () => startSServer('s_server-Verify', { verify: 'Verify' })),
  row('openssl s_server -verify (optional)', 'mtls', [P,     P,     P,      P,    F,      F,      P,    _,         _], F, 'tls',  () => startSServer('s_server-verify', { verify: 'verify' })),
  row('openssl s_server -tls1_2',            'tls',  [P,     P,     P,      P,    _,      _,      _,    P,         _], P, 'tls',  () => startSServer('s_server-tls1_2', { version: 'tls1_2' })),
  row('openssl s_server -tls1_3',            'tls',  [P,     P,     P,      P,    _,      _,      _,    P,         _], P, 'tls',  () => startSServer('s_server-tls1_3', { version: 'tls1_3' })),
];

function row(
  peer: string,
  expect: ExpectedState,
  checks: Array<V | undefined>,
  verdict: V,
  observed: ObservedState,
  start: Start,
): Row {
  return { peer, expect, checks, verdict, observed, start };
}

async function probe(peer: RunningPeer, expect: ExpectedState): Promise<ActivePathEvidence> {
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
    // The real client of an mtls path presents its certificate; that of a tls path presents none.
    expect === 'mtls' ? { ca: f.ca, clientCert: f.client, foreignClientCert: f.foreignClient } : { ca: f.ca },
  );
}

function verdictOf(c: { ok: boolean; status?: string }): V {
  return c.ok ? P : c.status === 'inconclusive' ? I : F;
}

/** Every check's verdict, the overall verdict and the observed state, as one comparable object. */
function outcome(ev: ActivePathEvidence) {
  const j = judgeActive(ev);
  const checks: Record<string, V> = {};
  for (const c of ev.checks) checks[c.name] = verdictOf(c);
  const verdict: V = j.ok ? P : j.reasons.length ? F : I;
  return { checks, verdict, observed: ev.observed };
}

function expectedOutcome(r: Row, ev: ActivePathEvidence) {
  const checks: Record<string, V> = {};
  COLUMNS.forEach((name, i) => {
    const v = r.checks[i];
    if (v) checks[name] = v;
  });
  // The other TLS checks hold on every peer whose handshake works (same CA, valid, TLS 1.2+).
  if (checks['tls-handshake'] === P) for (const n of ALWAYS_PASS_WITH_TLS) checks[n] = P;
  // Order as the probe makes them, so a diff reads check by check.
  const ordered: Record<string, V> = {};
  for (const c of ev.checks) if (checks[c.name]) ordered[c.name] = checks[c.name]!;
  for (const [k, v] of Object.entries(checks)) ordered[k] ??= v;
  return { checks: ordered, verdict: r.verdict, observed: r.observed };
}

function explain(ev: ActivePathEvidence): string {
  return ev.checks
    .map((c) => `  ${verdictOf(c)} ${c.name}: ${c.ok ? '' : `${c.reason} | `}${c.detail}`)
    .join('\n');
}

for (const r of TABLE) {
  test(`${r.peer}, probed as ${r.expect}: ${r.verdict} (observed ${r.observed})`, async () => {
    const peer = await r.start();
    try {
      const ev = await probe(peer, r.expect);
      assert.equal(outcome(ev), expectedOutcome(r, ev), `${r.peer}\n${explain(ev)}`);
    } finally {
      await peer.stop();
    }
  });
}

/** One setting of a peer changed: the check it concerns flips, the verdict with it, nothing else. */
interface Mutation {
  what: string;
  expect: ExpectedState;
  before: Start;
  after: Start;
  /** The checks the setting concerns: each flips; no other check changes. */
  checks: string[];
  /** Their verdict before and after, and the overall verdict after. */
  flip: [V, V];
  verdictAfter: V;
}

const MUTATIONS: Mutation[] = [
  {
    what: 'nginx: client auth turned off (ssl_verify_client on -> off)',
    expect: 'mtls',
    before: () => startNginx('nginx-verify-on', { clientAuth: 'on' }),
    after: () => startNginx('nginx-verify-off', { clientAuth: 'off' }),
    // Off means no certificate is asked for: a foreign one is not checked either.
    checks: ['no-client-cert-refused', 'foreign-client-cert-refused'],
    flip: [P, F],
    verdictAfter: F,
  },
  {
    what: 'grpc-go: client auth turned off (RequireAndVerifyClientCert -> NoClientCert)',
    expect: 'mtls',
    before: () => startGoPeer('grpc-require', { kind: 'grpc', clientAuth: 'require' }),
    after: () => startGoPeer('grpc-none', { kind: 'grpc', clientAuth: 'none' }),
    // Off means no certificate is asked for: a foreign one is not checked either.
    checks: ['no-client-cert-refused', 'foreign-client-cert-refused'],
    flip: [P, F],
    verdictAfter: F,
  },
  {
    what: 'nginx: TLS 1.0 allowed (ssl_protocols TLSv1.2 -> TLSv1 TLSv1.1 TLSv1.2)',
    expect: 'tls',
    before: () => startNginx('nginx-tls12', { protocols: 'TLSv1.2' }),
    after: () =>
      startNginx('nginx-tls10', { protocols: 'TLSv1 TLSv1.1 TLSv1.2', ciphers: 'DEFAULT@SECLEVEL=0' }),
    checks: ['legacy-tls-refused'],
    flip: [P, F],
    verdictAfter: F,
  },
  {
    what: 'Go net/http: TLS 1.0 allowed (default MinVersion -> TLS 1.0)',
    expect: 'tls',
    before: () => startGoPeer('go-http-none', { kind: 'http', clientAuth: 'none' }),
    after: () => startGoPeer('go-http-tls10', { kind: 'http', minTls: '1.0' }),
    checks: ['legacy-tls-refused'],
    flip: [P, F],
    verdictAfter: F,
  },
  {
    what: 'haproxy: a certificate without the dialled name',
    expect: 'mtls',
    before: () => startHaproxy('haproxy-required', { verify: 'required' }),
    after: () => startHaproxy('haproxy-no-san', { verify: 'required', noSan: true }),
    checks: ['server-name'],
    flip: [P, F],
    verdictAfter: F,
  },
  {
    what: 'Go net/http: a certificate without the dialled name',
    expect: 'tls',
    before: () => startGoPeer('go-http-none', { kind: 'http', clientAuth: 'none' }),
    after: () => startGoPeer('go-http-no-san', { kind: 'http', clientAuth: 'none', noSan: true }),
    checks: ['server-name'],
    flip: [P, F],
    verdictAfter: F,
  },
];

for (const m of MUTATIONS) {
  test(`mutated peer: ${m.what}: ${m.checks.join(', ')} ${m.flip[0]} -> ${m.flip[1]}, nothing else`, async () => {
    const results = [];
    for (const start of [m.before, m.after]) {
      const peer = await start();
      try {
        results.push(outcome(await probe(peer, m.expect)));
      } finally {
        await peer.stop();
      }
    }
    const [before, after] = results as [ReturnType<typeof outcome>, ReturnType<typeof outcome>];
    for (const c of m.checks) {
      assert.is(before.checks[c], m.flip[0], `before: ${c} in ${JSON.stringify(before.checks)}`);
      assert.is(after.checks[c], m.flip[1], `after: ${c} in ${JSON.stringify(after.checks)}`);
    }
    assert.is(before.verdict, P);
    assert.is(after.verdict, m.verdictAfter);
    // Only the mutated setting's checks changed (the same server otherwise).
    const changed = Object.keys({ ...before.checks, ...after.checks }).filter(
      (k) => before.checks[k] !== after.checks[k],
    );
    assert.equal(changed.sort(), [...m.checks].sort(), `changed: ${changed.join(', ')}`);
  });
}

test.after(async () => {
  await removeCerts();
});

test.run();
