// Flows -> paths (shared ports, address maps, exempt and unattributed buckets) and the passive
// verdict per expected state. Each failure reason is proven by a case where it must fire.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attributeFlows, passiveEvidence } from '../../scripts/lib/capture/attribute.ts';
import { judgePassive } from '../../scripts/lib/capture/judge.ts';
import type { FlowClass, FlowSummary, PassivePathEvidence } from '../../scripts/lib/evidence/types.ts';

let nextPort = 40000;
function flow(
  client: string,
  server: string,
  port: number,
  cls: FlowClass,
  extra: Partial<FlowSummary> = {},
): FlowSummary {
  const plain = cls !== 'tls' && cls !== 'empty' && cls !== 'binary-unknown';
  return {
    client: `${client}:${nextPort++}`,
    server: `${server}:${port}`,
    serverPort: port,
    class: cls,
    bytesClientToServer: cls === 'empty' ? 0 : 100,
    bytesServerToClient: cls === 'empty' ? 0 : 200,
    plaintextBytes: plain ? 300 : 0,
    ...(cls === 'tls' ? { tlsVersion: 'TLS 1.3' } : {}),
    ...extra,
  };
}

const API = '10.244.0.10';
const ENGINE = '10.244.0.11';
const FUNCTIONS = '10.244.0.12';
const SIDECAR = '10.244.0.13';

test('shared port 5555 without an address map: the flow counts for both paths, and the evidence says so', () => {
  const f = flow(API, FUNCTIONS, 5555, 'tls');
  const attr = attributeFlows([f]);
  assert.equal(attr.byPath['api->functions'], [f]);
  assert.equal(attr.byPath['engine->functions'], [f]);
  assert.is(attr.ambiguous.length, 1);
  assert.equal(attr.ambiguous[0]!.paths, ['api->functions', 'engine->functions']);
  const ev = passiveEvidence(attr, 'engine->functions');
  assert.match(ev.notes?.[0] ?? '', 'port 5555 is shared by api->functions and engine->functions');
  assert.match(judgePassive('tls', ev).reason, 'note: ');
});

test('client address map settles shared ports 5555 and 7777', () => {
  const flows = [
    flow(API, FUNCTIONS, 5555, 'tls'),
    flow(ENGINE, FUNCTIONS, 5555, 'grpc-clear'),
    flow(SIDECAR, ENGINE, 7777, 'tls'),
  ];
  const attr = attributeFlows(flows, {
    clientComponents: new Map([
      [API, 'api'],
      [ENGINE, 'engine'],
      [SIDECAR, 'sidecar'],
    ]),
  });
  assert.equal(attr.byPath['api->functions'], [flows[0]]);
  assert.equal(attr.byPath['engine->functions'], [flows[1]]);
  assert.equal(attr.byPath['sidecar->engine'], [flows[2]]);
  assert.equal(attr.byPath['pod->engine'], []);
  assert.is(attr.ambiguous.length, 0);
  assert.is(judgePassive('tls', passiveEvidence(attr, 'api->functions')).ok, true);
  assert.is(judgePassive('tls', passiveEvidence(attr, 'engine->functions')).ok, false);
});

test('server address map separates the API from the UI on 8080; a wrong client is unattributed, not hidden', () => {
  const ui = '10.244.0.20';
  const envoy = '10.244.0.30';
  const flows = [
    flow(envoy, API, 8080, 'tls'),
    flow(envoy, ui, 8080, 'http1'),
    flow(ENGINE, API, 8080, 'http1'),
  ];
  const attr = attributeFlows(flows, {
    serverComponents: { [API]: 'api', [ui]: 'ui' },
    clientComponents: { [envoy]: 'envoy-external', [ENGINE]: 'engine' },
  });
  assert.equal(attr.byPath['ingress->api'], [flows[0]]);
  assert.equal(attr.byPath['ingress->ui'], [flows[1]]);
  assert.is(attr.unattributed.length, 1);
  assert.match(attr.unattributed[0]!.reason, 'is engine; it is not the client of ingress->api');
});

test('exempt ports are listed as exempt with the reason; unknown ports are unattributed', () => {
  const pg = flow(ENGINE, '10.244.0.40', 5432, 'postgres');
  const other = flow(ENGINE, '10.244.0.41', 9999, 'http1');
  const attr = attributeFlows([pg, other]);
  assert.is(attr.exempt.length, 1);
  assert.is(attr.exempt[0]!.id, 'engine->postgres');
  assert.equal(attr.exempt[0]!.flows, [pg]);
  assert.match(attr.exempt[0]!.reason, 'sslmode=disable');
  assert.equal(attr.unattributed, [{ flow: other, reason: 'no path uses server port 9999' }]);
});

test('extra ports cover what the node sees after DNAT (Envoy pods on 8443)', () => {
  const f = flow('172.18.0.1', '10.244.0.50', 8443, 'tls');
  assert.is(attributeFlows([f]).unattributed.length, 1);
  const attr = attributeFlows([f], {
    extraPorts: { 'client->ingress': [8443, 8080] },
    serverComponents: { '10.244.0.50': 'envoy-external' },
  });
  assert.equal(attr.byPath['client->ingress'], [f]);
});

test('IPv6 endpoints are looked up by address', () => {
  const f: FlowSummary = {
    ...flow('x', 'y', 5555, 'tls'),
    client: '[fd00::10]:41000',
    server: '[fd00::12]:5555',
  };
  const attr = attributeFlows([f], { clientComponents: { 'fd00::10': 'engine' } });
  assert.equal(attr.byPath['engine->functions'], [f]);
  assert.equal(attr.byPath['api->functions'], []);
});

function ev(flows: FlowSummary[], path: PassivePathEvidence['path'] = 'api->engine'): PassivePathEvidence {
  return passiveEvidence(attributeFlows(flows), path);
}

test('tls/mtls: passes with TLS and zero plaintext; each failure names its cause', () => {
  const ok = judgePassive('tls', ev([flow(API, ENGINE, 6666, 'tls'), flow(API, ENGINE, 6666, 'empty')]));
  assert.is(ok.ok, true);
  assert.match(ok.reason, '1 TLS flow (TLS 1.3), zero plaintext; 1 flow without payload ignored');
  const plain = judgePassive(
    'tls',
    ev([flow(API, ENGINE, 6666, 'tls'), flow(API, ENGINE, 6666, 'grpc-clear')]),
  );
  assert.is(plain.ok, false);
  assert.match(plain.reason, '1 plaintext flow (300 bytes in clear)');
  const none = judgePassive('mtls', ev([flow(API, ENGINE, 6666, 'empty')]));
  assert.is(none.ok, false);
  assert.match(none.reason, 'no TLS flow captured: encryption cannot be proven');
  const unknown = judgePassive(
    'tls',
    ev([flow(API, ENGINE, 6666, 'tls'), flow(API, ENGINE, 6666, 'binary-unknown')]),
  );
  assert.is(unknown.ok, false);
  assert.match(unknown.reason, 'neither TLS nor recognised plaintext (encryption unproven)');
  const mtls = judgePassive('mtls', ev([flow(API, ENGINE, 6666, 'tls')]));
  assert.is(mtls.ok, true);
  assert.match(mtls.reason, 'the active probe decides mTLS');
});

test('https: redirect-only flows on the plain port are allowed; content on port 80 or any plaintext on 443 is not', () => {
  const path = 'client->ingress';
  const tls = flow('172.18.0.1', '10.0.0.1', 443, 'tls');
  const redirect = flow('172.18.0.1', '10.0.0.1', 80, 'http1', {
    httpStatuses: [308],
    httpsRedirectOnly: true,
  });
  const served = flow('172.18.0.1', '10.0.0.1', 80, 'http1', {
    httpStatuses: [200],
    httpsRedirectOnly: false,
  });
  const ok = judgePassive('https', ev([tls, redirect], path));
  assert.is(ok.ok, true);
  assert.match(ok.reason, '1 plain-port flow carrying only redirects to https:// (allowed)');
  const bad = judgePassive('https', ev([tls, redirect, served], path));
  assert.is(bad.ok, false);
  assert.match(bad.reason, '1 plaintext flow');
  assert.match(bad.reason, ':80 http1');
  // A redirect served in clear on the TLS port means 443 speaks plaintext.
  const on443 = flow('172.18.0.1', '10.0.0.1', 443, 'http1', {
    httpStatuses: [301],
    httpsRedirectOnly: true,
  });
  assert.is(judgePassive('https', ev([tls, on443], path)).ok, false);
  // Under `tls` (not https) even a redirect on port 80 is plaintext.
  assert.is(judgePassive('tls', ev([tls, redirect], 'engine->knative')).ok, false);
});

test('plain: plaintext must be seen (sanity); nothing, or only TLS, fails with "might be broken"', () => {
  const ok = judgePassive('plain', ev([flow(API, ENGINE, 6666, 'grpc-clear')]));
  assert.is(ok.ok, true);
  assert.match(ok.reason, 'plaintext seen as expected: 1 flow, 300 bytes in clear');
  const nothing = judgePassive('plain', ev([]));
  assert.is(nothing.ok, false);
  assert.match(nothing.reason, 'the capture or the detector might be broken');
  const onlyTls = judgePassive('plain', ev([flow(API, ENGINE, 6666, 'tls')]));
  assert.is(onlyTls.ok, false);
  assert.match(onlyTls.reason, 'expected plaintext but saw none');
  assert.match(onlyTls.reason, 'the detector might be broken');
});

test.run();
