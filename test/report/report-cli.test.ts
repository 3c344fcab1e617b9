// npm run report: a saved JSON report drawn again; a malformed one is bad input in one line.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeReportOutputs } from '../../scripts/lib/cli/output-options.ts';
import { reportCli } from '../../scripts/lib/report/cli.ts';
import { parseReport, ReportFileError } from '../../scripts/lib/report/load.ts';
import { renderJson } from '../../scripts/lib/report/render.ts';
import { buildReport } from '../../scripts/lib/report/types.ts';
import { profileMatrix } from '../lab/helpers/matrix.ts';

const dir = mkdtempSync(join(tmpdir(), 'report-cli-'));

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const code = await reportCli(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

test('malformed reports exit 2 with one line naming the file and the problem', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['not-json.json', '{"tool":', /not-json\.json: is not JSON \(/],
    ['other.json', '{"hello":1}', /other\.json: has no tool: 'direktiv-tls-e2e'/],
    [
      'no-results.json',
      '{"tool":"direktiv-tls-e2e","results":[]}',
      /no-results\.json: has no results — give a report\.json/,
    ],
  ];
  const good = JSON.parse(renderJson(buildReport([(await profileMatrix())[0]!])));
  delete good.results[0].verdicts[3].expected;
  cases.push([
    'verdict.json',
    JSON.stringify(good),
    /verdict\.json: results\[0\]\.verdicts\[3\]: has no expected\.state/,
  ]);
  for (const [name, body, want] of cases) {
    const f = join(dir, name);
    writeFileSync(f, body);
    const r = await run([f, '--html', join(dir, 'x.html')]);
    assert.is(r.code, 2, name);
    assert.match(r.err, want);
    assert.is(r.err.trimEnd().split('\n').length, 1, `one line: ${r.err}`);
    assert.is(r.out, '');
  }
  const missing = await run([join(dir, 'missing.json')]);
  assert.is(missing.code, 2);
  assert.match(missing.err, /^error: \S+missing\.json: does not exist — [^\n]+\n$/);
  assert.throws(
    () => parseReport('[]'),
    (e: unknown) => e instanceof ReportFileError,
  );
});

test('a saved report is drawn again: the terminal table, and the Markdown with its topology', async () => {
  const report = buildReport(await profileMatrix());
  const f = join(dir, 'run.json');
  writeFileSync(f, renderJson(report));
  const md = join(dir, 'summary.md');
  const r = await run([f, '--markdown', md]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /RESULT: PASS/);
  const text = readFileSync(md, 'utf8');
  assert.is(text.split('```mermaid').length - 1, 6, 'one chart per profile');
  assert.match(text, /engine -->\|"! 443\/80 HTTP · tls\+plain"\| envoy_internal/);
  const bad = await run([f, '--html', join(dir, 'nowhere', 'x.html')]);
  assert.is(bad.code, 2, 'a missing output folder is bad input');
});

test("a picture that cannot be drawn fails the report command, but not a cluster run's other reports", async () => {
  const report = buildReport([(await profileMatrix())[0]!]);
  // Steps that are not a list: only the picture (its timeline) trips over them.
  const broken = { ...report, steps: 5 as never };
  const file = join(dir, 'broken.html');
  const error = await writeReportOutputs(broken, { html: file }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(error instanceof Error, 'without the fallback the drawing error stands');
  const written = await writeReportOutputs(broken, { html: file }, { htmlFallback: true });
  assert.equal(written, [file]);
  const page = readFileSync(file, 'utf8');
  assert.match(page, /The topology could not be drawn:/);
  assert.match(page, /RESULT: PASS/, 'the terminal report stands in');
});

test.run();
