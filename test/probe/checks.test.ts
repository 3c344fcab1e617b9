// The judging of facts, on hand-made facts: every reason in words, warnings where the spec asks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ActiveCheck, activeChecks, observedState } from '../../scripts/lib/probe/checks.ts';
import type { ActiveFacts, HandshakeFacts, ProbeTarget } from '../../scripts/lib/probe/types.ts';

const grpcTarget: ProbeTarget = {
  protocol: 'grpc',
  address: '127.0.0.1',
  port: 40001,
  displayPort: 7777,
  serverName: 'direktiv-flow-hl.default',
};
const envoyTarget: ProbeTarget = {
  protocol: 'http',
  address: '127.0.0.1',
  port: 40002,
  plainPort: 40003,
  displayPort: 443,
  displayPlainPort: 80,
  serverName: 'workflow-probe.direktiv-services-direktiv',
};

const goodHandshake = (port: number, display: number): HandshakeFacts => ({
  port,
  displayPort: display,
  ok: true,
  protocol: 'TLSv1.3',
  alpn: 'h2',
  chain: { ok: true, detail: 'signed by CA' },
  name: { ok: true, detail: 'matches' },
  validity: { ok: true, detail: 'valid' },
});

function mtlsFacts(over: Partial<ActiveFacts> = {}): ActiveFacts {
  return {
    plaintext: [{ port: 40001, displayPort: 7777, outcome: 'refused', detail: '14 UNAVAILABLE' }],
    handshake: goodHandshake(40001, 7777),
    legacy: [
      { version: 'TLSv1', accepted: false, detail: 'alert protocol version' },
      { version: 'TLSv1.1', accepted: false, detail: 'alert protocol version' },
    ],
    withoutClientCert: { accepted: false, detail: 'certificate required' },
    withClientCert: { accepted: true, detail: 'OK' },
    withForeignClientCert: { accepted: false, detail: 'Failed to connect' },
    ...over,
  };
}

const failing = (cs: ActiveCheck[]) =>
  cs.filter((c) => !c.ok && c.status !== 'inconclusive').map((c) => c.reason);
const undecided = (cs: ActiveCheck[]) => cs.filter((c) => c.status === 'inconclusive').map((c) => c.name);

test('mtls: all facts as they should be, no failure; observed mtls', () => {
  const cs = activeChecks(grpcTarget, { state: 'mtls' }, mtlsFacts());
  assert.equal(failing(cs), []);
  assert.equal(
    cs.map((c) => c.name),
    [
      'plaintext-refused',
      'tls-handshake',
      'tls-version',
      'legacy-tls-refused',
      'chain',
      'server-name',
      'validity',
      'no-client-cert-refused',
      'foreign-client-cert-refused',
      'client-cert-accepted',
    ],
  );
  assert.is(observedState(grpcTarget, mtlsFacts()), 'mtls');
});

test('each flaw is named in words, with the real port', () => {
  const plain = mtlsFacts({
    plaintext: [{ port: 40001, displayPort: 7777, outcome: 'served', detail: 'OK (SERVING)' }],
  });
  assert.equal(failing(activeChecks(grpcTarget, { state: 'mtls' }, plain)), [
    'plaintext gRPC accepted on 7777',
  ]);
  const optional = mtlsFacts({ withoutClientCert: { accepted: true, detail: 'OK' } });
  assert.equal(failing(activeChecks(grpcTarget, { state: 'mtls' }, optional)), [
    'a client without certificate is accepted on 7777',
  ]);
  const anyCa = mtlsFacts({ withForeignClientCert: { accepted: true, detail: 'OK' } });
  assert.equal(failing(activeChecks(grpcTarget, { state: 'mtls' }, anyCa)), [
    'a client certificate from a foreign CA is accepted on 7777',
  ]);
  const legacy = mtlsFacts({
    legacy: [
      { version: 'TLSv1', accepted: true, detail: 'ok' },
      { version: 'TLSv1.1', accepted: false, detail: 'refused' },
    ],
  });
  assert.equal(failing(activeChecks(grpcTarget, { state: 'mtls' }, legacy)), ['TLS 1.0 accepted on 7777']);
  const noSan = mtlsFacts({
    handshake: {
      ...goodHandshake(40001, 7777),
      name: { ok: false, detail: 'x509: certificate is valid for a, not b' },
      peer: {
        subject: '',
        issuer: 'CN=direktiv-system',
        subjectAltName: 'DNS:direktiv-flow-hl',
        validFrom: '',
        validTo: '',
        serialNumber: '',
        fingerprint256: '',
        pem: '',
      },
    },
  });
  assert.equal(failing(activeChecks(grpcTarget, { state: 'mtls' }, noSan)), [
    'certificate lacks direktiv-flow-hl.default (DNS:direktiv-flow-hl)',
  ]);
});

test('tls expectation: a server that demands a client certificate fails (the real client has none)', () => {
  const cs = activeChecks(grpcTarget, { state: 'tls' }, mtlsFacts());
  assert.equal(failing(cs), ['the server demands a client certificate on 7777 (the real client has none)']);
  // The real client is refused, so no other refusal can be told apart from it.
  assert.equal(undecided(cs), ['plaintext-refused', 'legacy-tls-refused']);
});

test('every refusal is judged against the legitimate request: pass, fail, or inconclusive', () => {
  // Refused at the HTTP layer (nginx `ssl_verify_client optional` + 403): a refusal, not an answer.
  const http403 = mtlsFacts({
    withoutClientCert: {
      accepted: false,
      detail: 'HTTP/1.1 403 Forbidden (HTTP/1.x)',
      answer: {
        outcome: 'refused',
        layer: 'http',
        status: 'HTTP/1.1 403 Forbidden',
        tls: { version: 'TLSv1.3' },
      },
    },
  });
  const ok = activeChecks(grpcTarget, { state: 'mtls' }, http403);
  assert.equal(failing(ok), []);
  const none = ok.find((c) => c.name === 'no-client-cert-refused')!;
  assert.match(none.detail, /^probe: refused at http; HTTP\/1.1 403 Forbidden.*legitimate request: OK$/);
  // The server refuses the real client too: nothing can be told apart.
  const refusesAll = mtlsFacts({ withClientCert: { accepted: false, detail: '7 PERMISSION_DENIED: nope' } });
  const cs = activeChecks(grpcTarget, { state: 'mtls' }, refusesAll);
  assert.equal(failing(cs), []);
  assert.equal(undecided(cs), [
    'plaintext-refused',
    'legacy-tls-refused',
    'no-client-cert-refused',
    'foreign-client-cert-refused',
    'client-cert-accepted',
  ]);
  for (const c of cs.filter((x) => x.status === 'inconclusive')) {
    assert.is(c.ok, false);
    assert.is(c.reason, 'the server refuses the real client too on 7777');
  }
  assert.match(
    cs.find((c) => c.name === 'no-client-cert-refused')!.detail,
    /probe: certificate required; legitimate request: 7 PERMISSION_DENIED: nope/,
  );
  // An accepted probe fails whatever the real client got: acceptance is decided.
  const acceptsProbe = mtlsFacts({
    withClientCert: { accepted: false, detail: '7 PERMISSION_DENIED: nope' },
    withoutClientCert: { accepted: true, detail: 'OK' },
  });
  assert.equal(failing(activeChecks(grpcTarget, { state: 'mtls' }, acceptsProbe)), [
    'a client without certificate is accepted on 7777',
  ]);
});

test('plain expectation: the detector must see plaintext; a TLS-only server fails', () => {
  const facts: ActiveFacts = {
    plaintext: [{ port: 40001, displayPort: 7777, outcome: 'refused', detail: 'closed' }],
    handshake: goodHandshake(40001, 7777),
    legacy: [],
  };
  assert.equal(failing(activeChecks(grpcTarget, { state: 'plain' }, facts)), [
    'plaintext refused on 7777 where the profile expects plaintext',
  ]);
  const served: ActiveFacts = {
    plaintext: [{ port: 40001, displayPort: 7777, outcome: 'served', detail: 'OK (SERVING)' }],
    handshake: { port: 40001, displayPort: 7777, ok: false, error: 'wrong version number' },
    legacy: [],
  };
  assert.equal(failing(activeChecks(grpcTarget, { state: 'plain' }, served)), []);
  assert.is(observedState(grpcTarget, served), 'plain');
});

function envoyFacts(plain80: ActiveFacts['plaintext'][number]['outcome']): ActiveFacts {
  return {
    plaintext: [
      { port: 40002, displayPort: 443, outcome: 'refused', detail: 'closed' },
      { port: 40003, displayPort: 80, outcome: plain80, detail: 'HTTP/1.1 200 OK' },
    ],
    handshake: goodHandshake(40002, 443),
    legacy: [],
    withoutClientCert: { accepted: true, detail: 'HTTP/2 200' },
  };
}

test('engine->knative without --strict: port 80 open is a warning, never a failure', () => {
  const cs = activeChecks(envoyTarget, { state: 'tls', plainPortOpen: true }, envoyFacts('served'));
  assert.equal(failing(cs), []);
  const w = cs.find((c) => c.warning);
  assert.is(w?.name, 'plain-port-open');
  assert.match(String(w?.warning), /port 80 still serves plaintext HTTP beside TLS/);
  assert.is(observedState(envoyTarget, envoyFacts('served')), 'tls+plain');
});

test('https (ingress, --strict): port 80 must redirect', () => {
  assert.equal(failing(activeChecks(envoyTarget, { state: 'https' }, envoyFacts('served'))), [
    'plaintext HTTP served on 80 instead of a redirect to https',
  ]);
  assert.equal(failing(activeChecks(envoyTarget, { state: 'https' }, envoyFacts('redirected'))), []);
  assert.is(observedState(envoyTarget, envoyFacts('redirected')), 'https');
});

test('a failed handshake stops the TLS checks with the error verbatim', () => {
  const facts: ActiveFacts = {
    plaintext: [{ port: 40001, displayPort: 7777, outcome: 'unreachable', detail: 'connect ECONNREFUSED' }],
    handshake: { port: 40001, displayPort: 7777, ok: false, error: 'connect ECONNREFUSED 127.0.0.1:40001' },
    legacy: [],
  };
  const cs = activeChecks(grpcTarget, { state: 'tls' }, facts);
  assert.equal(failing(cs), ['no TLS on 7777: connect ECONNREFUSED 127.0.0.1:40001']);
  // Plaintext went nowhere, and neither did the real client: that refusal proves nothing.
  assert.equal(undecided(cs), ['plaintext-refused']);
  assert.is(observedState(grpcTarget, facts), 'down');
});

test('the lab real client: its failure is a reason of its own', () => {
  const facts = mtlsFacts({ realClient: { client: 'sidecar', accepted: false, detail: 'cannot start' } });
  assert.equal(failing(activeChecks(grpcTarget, { state: 'mtls' }, facts)), [
    'the real client (sidecar) failed: cannot start',
  ]);
});

test.run();
