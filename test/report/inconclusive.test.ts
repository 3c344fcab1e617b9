// An inconclusive verdict in every report form: shown as such, counted apart, never PASS or FAIL.
import { XMLParser } from 'fast-xml-parser';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, PATH_IDS } from '../../scenarios/index.ts';
import type { ActivePathEvidence } from '../../scripts/lib/probe/types.ts';
import { renderJunit, renderMarkdown, renderTerminal } from '../../scripts/lib/report/render.ts';
import { profileResult } from '../../scripts/lib/report/result.ts';
import { buildReport, reportOk, reportOutcome } from '../../scripts/lib/report/types.ts';
import type { PathEvidence } from '../../scripts/lib/verdict/verdict.ts';

function active(checks: ActivePathEvidence['checks']): ActivePathEvidence {
  return {
    kind: 'active',
    target: { protocol: 'grpc', address: '127.0.0.1', port: 6666, serverName: 'direktiv-ingress-hl.default' },
    expected: { state: 'plain' },
    facts: { plaintext: [], handshake: { port: 6666, displayPort: 6666, ok: true }, legacy: [] },
    checks,
    observed: 'plain',
    durationMs: 1,
  };
}

function report(failOne: boolean) {
  const s = buildScenario({ profile: 'plain' });
  const evidence: Partial<Record<(typeof PATH_IDS)[number], PathEvidence>> = {};
  for (const id of PATH_IDS)
    evidence[id] = { active: active([{ name: 'plaintext-served', ok: true, detail: '200' }]) };
  evidence['api->engine'] = {
    active: active([
      {
        name: 'no-client-cert-refused',
        ok: false,
        status: 'inconclusive',
        detail:
          'probe: refused at tls; alert "certificate required"; legitimate request: refused at grpc; 16 UNAUTHENTICATED: no',
        reason: 'the server refuses the real client too on 6666',
      },
    ]),
  };
  if (failOne)
    evidence['ingress->ui'] = {
      active: active([
        { name: 'plaintext-served', ok: false, detail: 'x', reason: 'nothing answers plaintext on 8080' },
      ]),
    };
  return buildReport([profileResult(s, evidence, { source: 'lab', durationMs: 1 })]);
}

test('terminal, JUnit and Markdown show an inconclusive path; the run is neither PASS nor FAIL', () => {
  const r = report(false);
  assert.equal([r.summary.pass, r.summary.fail, r.summary.inconclusive], [9, 0, 1]);
  assert.is(reportOutcome(r), 'inconclusive');
  assert.not.ok(reportOk(r));
  const text = renderTerminal(r);
  assert.match(text, /\napi->engine +\? plain\n/);
  assert.match(
    text,
    /Inconclusive \(neither pass nor fail; both answers given\):\n {2}\? plain\/api->engine \[active\]: no-client-cert-refused: the server refuses the real client too on 6666 \(probe: refused at tls; alert "certificate required"; legitimate request: refused at grpc; 16 UNAUTHENTICATED: no\)/,
  );
  assert.match(text, /10 paths: 9 pass, 0 warn, 0 fail, 1 inconclusive; .*\nRESULT: INCONCLUSIVE\n$/);
  const xml = new XMLParser({ ignoreAttributes: false }).parse(renderJunit(r));
  assert.is(xml.testsuites['@_errors'], '1');
  assert.is(xml.testsuites['@_failures'], '0');
  const md = renderMarkdown(r);
  assert.match(md, /^### Direktiv TLS assertions: ❔ inconclusive/);
  assert.match(
    md,
    /#### Inconclusive\n\n- `plain\/api-&gt;engine` \(active\): no-client-cert-refused: the server refuses/,
  );
});

test('a failure anywhere makes the run FAIL even with an inconclusive path', () => {
  const r = report(true);
  assert.is(reportOutcome(r), 'fail');
  assert.match(renderTerminal(r), /RESULT: FAIL\n$/);
});

test.run();
