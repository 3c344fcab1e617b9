import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { junitMarkdown, parseJunit, summaryFor } from '../../scripts/lib/ci/junit-summary.ts';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="e2e" tests="4" failures="1" errors="1">
  <testsuite name="full-mtls" tests="4">
    <testcase classname="full-mtls" name="api-&gt;engine" time="1.5"/>
    <testcase classname="full-mtls" name="engine-&gt;pod">
      <failure message="plaintext flow seen">2 flows to :8890 were HTTP/1 | not TLS
line two
line three
line four
line five</failure>
    </testcase>
    <testcase classname="full-mtls" name="install direktiv"><error message="deadline exceeded: Deployment direktiv not available"/></testcase>
    <testcase classname="full-mtls" name="postgres"><skipped message="exempt: no TLS setting in v0.4"/></testcase>
  </testsuite>
</testsuites>`;

test('parses cases with their status and messages', () => {
  const cases = parseJunit(XML);
  assert.is(cases.length, 4);
  assert.equal(
    cases.map((c) => [c.name, c.status]),
    [
      ['api->engine', 'passed'],
      ['engine->pod', 'failed'],
      ['install direktiv', 'error'],
      ['postgres', 'skipped'],
    ],
  );
  assert.is(cases[0]?.seconds, 1.5);
  assert.match(cases[1]?.message ?? '', 'plaintext flow seen');
  assert.match(cases[1]?.message ?? '', '2 flows to :8890 were HTTP/1');
  assert.is(cases[2]?.message, 'deadline exceeded: Deployment direktiv not available');
});

test('Markdown has the totals and a row per failure, pipes escaped, long messages cut', () => {
  const md = junitMarkdown(parseJunit(XML));
  assert.match(md, '**JUnit:** 4 tests, 1 passed, 1 failed, 1 errors, 1 skipped');
  assert.match(
    md,
    '| full-mtls / engine->pod | failed | plaintext flow seen<br>2 flows to :8890 were HTTP/1 \\| not TLS',
  );
  assert.not.match(md, 'line four');
  assert.match(md, '| full-mtls / install direktiv | error | deadline exceeded');
  assert.not.match(md, 'api->engine |');
});

test('a lone testsuite root and nested suites are read', () => {
  const xml =
    '<testsuite name="a"><testcase name="x"/><testsuite name="b"><testcase name="y"><failure>boom</failure></testcase></testsuite></testsuite>';
  const cases = parseJunit(xml);
  assert.equal(
    cases.map((c) => `${c.suite}:${c.name}:${c.status}`),
    ['a:x:passed', 'a / b:y:failed'],
  );
});

test('a missing or broken file gives a plain sentence, not a crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'junit-'));
  try {
    assert.match(summaryFor(join(dir, 'none.xml')), '_no JUnit report was written');
    const empty = join(dir, 'empty.xml');
    writeFileSync(empty, '');
    assert.match(summaryFor(empty), '**JUnit:** 0 tests');
    const ok = join(dir, 'ok.xml');
    writeFileSync(ok, XML);
    assert.match(summaryFor(ok), '1 failed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
