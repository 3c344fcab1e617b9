// A verdict on a stand-in is no verdict on the real program: where stand-ins served and called
// the paths (the control-plane run), every report form says `server: stand-in, client: stand-in`
// for every path, lists the components with versions and sources, and names each blocked step
// with its reason; the result is INCONCLUSIVE, never PASS. Without stand-ins nothing changes.
import { XMLParser } from 'fast-xml-parser';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, PATH_IDS } from '../../scenarios/index.ts';
import { runLab } from '../../scripts/lib/lab/lab.ts';
import { renderHtml } from '../../scripts/lib/report/html.ts';
import { renderJson, renderJunit, renderMarkdown, renderTerminal } from '../../scripts/lib/report/render.ts';
import { buildReport, type ProfileResult } from '../../scripts/lib/report/types.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

let plain: ProfileResult;
test.before(async () => {
  plain = await runLab(buildScenario({ profile: 'grpc-tls' }), { helm: testHelm });
});

const STAND_IN = 'server: stand-in, client: stand-in';

function standInReport() {
  const r: ProfileResult = {
    ...plain,
    actors: Object.fromEntries(PATH_IDS.map((p) => [p, { server: 'stand-in', client: 'stand-in' }])),
  };
  const report = buildReport([r]);
  report.components = [
    { name: 'kube-apiserver', version: 'v1.24.17', source: 'built from k8s.io/kubernetes@v1.24.17' },
    { name: 'direktiv engine (server)', version: 'lab', source: 'stand-in: scripts/lib/lab/servers.ts' },
  ];
  report.blocked = [{ id: 'grpc-tls/direktiv.install', reason: 'direktiv: 403 Forbidden' }];
  return report;
}

test('terminal: who served and called each path, the components, the blocked steps, INCONCLUSIVE', () => {
  const text = renderTerminal(standInReport());
  for (const p of PATH_IDS) assert.match(text, new RegExp(`  ${p.replace(/[>-]/g, '\\$&')} +${STAND_IN}`));
  assert.match(text, 'kube-apiserver v1.24.17: built from k8s.io/kubernetes@v1.24.17');
  assert.match(text, 'stand-in: scripts/lib/lab/servers.ts');
  assert.match(text, '⊘ grpc-tls/direktiv.install: direktiv: 403 Forbidden');
  assert.match(text, 'RESULT: INCONCLUSIVE');
  assert.not.match(text, 'RESULT: PASS');
});

test('JUnit: every test case says who served and called it; components and blocked steps as properties', () => {
  const xml = renderJunit(standInReport());
  const doc = new XMLParser({ ignoreAttributes: false }).parse(xml);
  const suite = doc.testsuites.testsuite;
  const cases = (suite.testcase as Array<{ '@_name': string; 'system-out': string }>).filter((c) =>
    PATH_IDS.some((p) => c['@_name'] === `grpc-tls/${p}`),
  );
  assert.is(cases.length, PATH_IDS.length);
  for (const c of cases) assert.match(c['system-out'], STAND_IN, c['@_name']);
  const props = (suite.properties.property as Array<{ '@_name': string; '@_value': string }>).map(
    (p) => `${p['@_name']}=${p['@_value']}`,
  );
  assert.ok(props.includes('component kube-apiserver=v1.24.17: built from k8s.io/kubernetes@v1.24.17'));
  assert.ok(props.includes('blocked grpc-tls/direktiv.install=direktiv: 403 Forbidden'));
});

test('Markdown and JSON: the same facts; JSON keeps components and blocked beside the results', () => {
  const report = standInReport();
  const md = renderMarkdown(report);
  for (const p of PATH_IDS) assert.match(md, `\`${p.replace('>', '&gt;')}\`: ${STAND_IN}`);
  assert.match(md, '| kube-apiserver | v1.24.17 | built from k8s.io/kubernetes@v1.24.17 |');
  assert.match(md, 'inconclusive');
  const json = JSON.parse(renderJson(report));
  assert.equal(json.components, report.components);
  assert.equal(json.blocked, report.blocked);
  assert.equal(json.results[0].actors['api->engine'], { server: 'stand-in', client: 'stand-in' });
});

test('HTML: each path panel names its stand-ins; the page is INCONCLUSIVE and lists the components', async () => {
  const html = await renderHtml(standInReport());
  assert.is(html.split(STAND_IN).length - 1, PATH_IDS.length);
  assert.match(html, 'INCONCLUSIVE');
  assert.match(
    html,
    '<td>kube-apiserver</td><td>v1.24.17</td><td>built from k8s.io/kubernetes@v1.24.17</td>',
  );
  assert.match(html, 'grpc-tls/direktiv.install');
});

test('without stand-ins (lab, kind) none of it appears and a holding run still passes', () => {
  const report = buildReport([plain]);
  const text = renderTerminal(report);
  assert.not.match(text, 'stand-in');
  assert.not.match(text, 'Components:');
  assert.match(text, 'RESULT: PASS');
  assert.not.match(renderJunit(report), 'stand-in');
  assert.not.match(renderMarkdown(report), 'stand-in');
});

test.run();
