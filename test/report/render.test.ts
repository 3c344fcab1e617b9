// The four report forms over real lab results: a passing matrix and failing runs.

import { XMLParser } from 'fast-xml-parser';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, PATH_IDS, PROFILE_NAMES } from '../../scenarios/index.ts';
import { runLab } from '../../scripts/lib/lab/lab.ts';
import {
  renderJson,
  renderJunit,
  renderMarkdown,
  renderTerminal,
  xmlEscape,
} from '../../scripts/lib/report/render.ts';
import { buildReport, type ProfileResult, reportOk } from '../../scripts/lib/report/types.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';
import { profileMatrix } from '../lab/helpers/matrix.ts';

let failing: Promise<ProfileResult[]> | undefined;
function failingRuns(): Promise<ProfileResult[]> {
  failing ??= (async () => [
    await runLab(buildScenario({ profile: 'full-mtls' }), { helm: testHelm, mutate: 'missing-san' }),
    await runLab(buildScenario({ profile: 'grpc-mtls', mode: 'as-documented' }), { helm: testHelm }),
  ])();
  return failing;
}

test('terminal: profiles x paths with a legend, exemptions counted, result line', async () => {
  const report = buildReport(await profileMatrix());
  const text = renderTerminal(report);
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('path '))!;
  for (const p of PROFILE_NAMES) assert.ok(header.includes(p), `column ${p}`);
  for (const id of PATH_IDS)
    assert.ok(
      lines.some((l) => l.startsWith(`${id} `)),
      `row ${id}`,
    );
  assert.ok(lines.find((l) => l.startsWith('api->engine'))!.endsWith('✓ mtls'));
  assert.match(text, /Legend: ✓ pass {3}! pass with a warning {3}✗ fail/);
  assert.match(text, /Exempt \(plaintext in every profile; .*\): 5 per profile, 30 in total/);
  assert.match(text, /- engine->postgres \(direktiv-support \(Postgres\):5432\)/);
  assert.match(text, /! full-mtls\/engine->knative: port 80 still serves plaintext HTTP/);
  assert.match(
    text,
    /Evidence behind the verdicts: 60 rest on active \(kinds: passive capture, active probe, configuration\)/,
  );
  assert.match(
    text,
    /Deviations from the page, full-mtls \(corrected\): applied #1 #2 #3 #4 #5 #6 #8 #9 #10; not applied #7/,
  );
  assert.match(text, /6 profiles, 60 paths: 59 pass, 1 warn, 0 fail; 30 exempt listed\nRESULT: PASS\n$/);
  assert.ok(reportOk(report));
});

test('terminal: failures carry the reason and the evidence kind; the flaw is named', async () => {
  const report = buildReport(await failingRuns());
  const text = renderTerminal(report);
  assert.match(text, /\nsidecar->engine +✗ mtls +✗ mtls\n/);
  assert.match(text, /\nengine->pod +✓ tls +✗ down \(want plain\)\n/);
  assert.match(text, /✗ full-mtls\/sidecar->engine \[active\]: certificate lacks direktiv-flow-hl\.default/);
  assert.match(text, /Planted flaw in full-mtls: missing-san on sidecar->engine/);
  assert.match(text, /RESULT: FAIL\n$/);
  assert.not.ok(reportOk(report));
});

test('JUnit: well formed, one case per profile x path named <profile>/<path-id>, reasons, exempt as skipped', async () => {
  const results = [...(await profileMatrix()), ...(await failingRuns())];
  const report = buildReport(results);
  const xml = renderJunit(report);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    isArray: (n) => ['testsuite', 'testcase'].includes(n),
  });
  const doc = parser.parse(xml, true);
  const suites = doc.testsuites.testsuite as Array<Record<string, unknown>>;
  assert.is(suites.length, 8);
  assert.is(Number(doc.testsuites['@_tests']), 8 * 15);
  assert.is(Number(doc.testsuites['@_skipped']), 8 * 5);
  const fails = results.flatMap((r) => r.verdicts.filter((v) => !v.ok));
  assert.is(Number(doc.testsuites['@_failures']), fails.length);
  for (const [i, r] of results.entries()) {
    const cases = suites[i]!.testcase as Array<Record<string, unknown>>;
    const names = cases.map((c) => c['@_name']);
    assert.equal(
      names.slice(0, 10),
      PATH_IDS.map((id) => `${r.scenario.name}/${id}`),
    );
    assert.equal(
      names.slice(10),
      r.exemptions.map((e) => `${r.scenario.name}/${e.id}`),
    );
    for (const v of r.verdicts) {
      const c = cases.find((x) => x['@_name'] === `${r.scenario.name}/${v.path}`)!;
      const failure = c.failure as Record<string, string> | undefined;
      if (v.ok) assert.is(failure, undefined);
      else assert.is(failure?.['@_message'], v.reason);
    }
    for (const c of cases.slice(10)) {
      assert.match(String((c.skipped as Record<string, string>)['@_message']), /^exempt: /);
    }
  }
  assert.is(suites[6]!['@_name'], 'full-mtls [mutate missing-san@sidecar->engine]');
});

test('xmlEscape drops characters XML cannot carry and escapes markup', () => {
  assert.is(xmlEscape('a<b>&"c\'\u0001\u0007d\ne'), 'a&lt;b&gt;&amp;&quot;c&apos;d\ne');
});

test('JSON: every piece of evidence, parseable back', async () => {
  const report = buildReport(await failingRuns());
  const back = JSON.parse(renderJson(report));
  const v = back.results[0].verdicts.find((x: { path: string }) => x.path === 'sidecar->engine');
  assert.is(v.status, 'fail');
  assert.equal(v.basis, ['active']);
  assert.ok(v.evidence.active.facts.handshake.peer.pem.startsWith('-----BEGIN CERTIFICATE-----'));
  assert.ok(v.evidence.active.checks.length >= 10);
  assert.is(back.results[0].exemptions.length, 5);
  assert.is(back.results[0].mutation.name, 'missing-san');
  assert.is(back.summary.exempt, 10);
});

test('Markdown: a CI summary table with failures and the exempt list', async () => {
  const md = renderMarkdown(buildReport(await failingRuns()));
  assert.match(md, /^### Direktiv TLS assertions: ❌ fail/);
  assert.match(
    md,
    /\| path \| full-mtls \[mutate missing-san@sidecar-&gt;engine\] \| grpc-mtls \[as-documented\] \|/,
  );
  assert.match(md, /\| `engine-&gt;pod` \| ✅ tls \| ❌ down \(want plain\) \|/);
  assert.match(md, /<details><summary>Exempt: 5 per profile, 10 in total/);
  assert.match(
    md,
    /- `full-mtls\/sidecar-&gt;engine` \(active\): certificate lacks direktiv-flow-hl\.default/,
  );
});

test.run();
