// Combining evidence kinds into verdicts: basis, disagreement warnings, silence never passes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario } from '../../scenarios/index.ts';
import type { ConfigEvidence, Judgement, PassivePathEvidence } from '../../scripts/lib/evidence/types.ts';
import type { ActivePathEvidence } from '../../scripts/lib/probe/types.ts';
import {
  countVerdicts,
  judgePath,
  judgeScenario,
  type PassiveJudge,
} from '../../scripts/lib/verdict/verdict.ts';

function active(ok: boolean): ActivePathEvidence {
  return {
    kind: 'active',
    path: 'api->engine',
    target: { protocol: 'grpc', address: '127.0.0.1', port: 6666, serverName: 'direktiv-ingress-hl.default' },
    expected: { state: 'tls' },
    facts: {
      plaintext: [{ port: 6666, displayPort: 6666, outcome: ok ? 'refused' : 'served', detail: 'x' }],
      handshake: { port: 6666, displayPort: 6666, ok: true, protocol: 'TLSv1.3' },
      legacy: [],
    },
    checks: ok
      ? [{ name: 'plaintext-refused', ok: true, detail: 'refused' }]
      : [
          {
            name: 'plaintext-refused',
            ok: false,
            detail: 'OK (SERVING)',
            reason: 'plaintext gRPC accepted on 6666',
          },
        ],
    observed: ok ? 'tls' : 'tls+plain',
    durationMs: 3,
  };
}

const passive: PassivePathEvidence = {
  kind: 'passive',
  path: 'api->engine',
  flows: [],
  tlsFlows: 1,
  plaintextFlows: 0,
  plaintextBytes: 0,
};
const passiveJudge =
  (j: Judgement): PassiveJudge =>
  () =>
    j;

test('active evidence alone: pass rests on active; the reason says what was shown', () => {
  const v = judgePath('api->engine', { state: 'tls' }, { active: active(true) });
  assert.is(v.status, 'pass');
  assert.equal(v.basis, ['active']);
  assert.match(
    v.reason,
    /^TLS \(TLSv1\.3\) on 6666, certificate verified for direktiv-ingress-hl\.default, plaintext refused$/,
  );
  assert.is(v.observed, 'tls');
});

test('a failing kind fails the path; disagreeing kinds add a warning naming them', () => {
  const v = judgePath(
    'api->engine',
    { state: 'tls' },
    { active: active(false), passive },
    { passiveJudge: passiveJudge({ ok: true, reason: '1 TLS flow, no plaintext' }) },
  );
  assert.is(v.status, 'fail');
  assert.equal(v.basis, ['passive', 'active'], 'strongest first');
  assert.equal(v.reasons, ['active: plaintext gRPC accepted on 6666']);
  assert.is(v.reason, 'active: plaintext gRPC accepted on 6666');
  assert.equal(v.warnings, ['evidence disagrees: active fails while passive passes']);
});

test('all three kinds passing: the reason carries each', () => {
  const config: ConfigEvidence = { kind: 'config', path: 'api->engine', ok: true, findings: [] };
  const v = judgePath(
    'api->engine',
    { state: 'tls' },
    { active: active(true), passive, config },
    { passiveJudge: passiveJudge({ ok: true, reason: 'only TLS seen' }) },
  );
  assert.is(v.status, 'pass');
  assert.equal(v.basis, ['passive', 'active', 'config']);
  assert.match(
    v.reason,
    /^passive: only TLS seen; active: TLS .*; config: configuration matches the profile$/,
  );
});

test('config findings are the failure reasons', () => {
  const config: ConfigEvidence = {
    kind: 'config',
    path: 'sidecar->engine',
    ok: false,
    findings: ['Secret direktiv-cert-flow missing in direktiv-services-direktiv'],
  };
  const v = judgePath('sidecar->engine', { state: 'mtls' }, { config });
  assert.is(v.status, 'fail');
  assert.is(v.reason, 'Secret direktiv-cert-flow missing in direktiv-services-direktiv');
});

test('no evidence is a failure, never a pass', () => {
  const v = judgePath('engine->pod', { state: 'tls' }, {});
  assert.is(v.status, 'fail');
  assert.is(v.reason, 'no evidence for this path');
  assert.equal(v.basis, []);
});

test("capture's judge reads passive evidence by default: a plaintext flow on a tls path fails it", () => {
  const flow = {
    client: '10.244.0.5:40000',
    server: '10.244.0.7:6666',
    serverPort: 6666,
    class: 'grpc-clear' as const,
    bytesClientToServer: 120,
    bytesServerToClient: 80,
    plaintextBytes: 200,
  };
  const ev: PassivePathEvidence = {
    ...passive,
    flows: [flow],
    tlsFlows: 0,
    plaintextFlows: 1,
    plaintextBytes: 200,
  };
  const v = judgePath('api->engine', { state: 'tls' }, { passive: ev, active: active(true) });
  assert.is(v.status, 'fail');
  assert.equal(v.basis, ['passive', 'active']);
  assert.match(v.reasons[0]!, /^passive: .*1 plaintext flow/);
  assert.equal(v.warnings, ['evidence disagrees: passive fails while active passes']);
});

/** Active evidence where the probe was refused and so was the legitimate request. */
function undecidedActive(): ActivePathEvidence {
  const ev = active(true);
  ev.checks = [
    { name: 'tls-handshake', ok: true, detail: 'TLSv1.3' },
    {
      name: 'plaintext-refused',
      ok: false,
      status: 'inconclusive',
      detail: 'probe: refused: closed; legitimate request: refused at http; HTTP/1.1 403 Forbidden',
      reason: 'the server refuses the real client too on 6666',
    },
  ];
  return ev;
}

test('an undecided check makes the verdict inconclusive: never pass, never fail; a failure still decides', () => {
  const v = judgePath('api->engine', { state: 'tls' }, { active: undecidedActive() });
  assert.is(v.status, 'inconclusive');
  assert.is(v.ok, false);
  assert.equal(v.reasons, []);
  assert.equal(v.inconclusive, [
    'plaintext-refused: the server refuses the real client too on 6666 (probe: refused: closed; legitimate request: refused at http; HTTP/1.1 403 Forbidden)',
  ]);
  assert.match(v.reason, /^inconclusive: plaintext-refused: the server refuses the real client too/);
  const withFailure = judgePath(
    'api->engine',
    { state: 'tls' },
    { active: undecidedActive(), passive },
    { passiveJudge: passiveJudge({ ok: false, reason: '2 plaintext flows to :6666' }) },
  );
  assert.is(withFailure.status, 'fail');
  assert.equal(withFailure.reasons, ['passive: 2 plaintext flows to :6666']);
  assert.equal(countVerdicts([v, withFailure]), { pass: 0, warn: 0, fail: 1, inconclusive: 1 });
});

test('judgeScenario covers every path of the scenario, missing evidence included', () => {
  const s = buildScenario({ profile: 'grpc-tls' });
  const vs = judgeScenario(s, { 'api->engine': { active: active(true) } });
  assert.is(vs.length, 10);
  assert.equal(countVerdicts(vs), { pass: 1, warn: 0, fail: 9, inconclusive: 0 });
  assert.is(vs.find((v) => v.path === 'engine->pod')!.expected.state, 'plain');
});

test.run();
