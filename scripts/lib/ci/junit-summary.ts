// Renders a JUnit XML report as Markdown for $GITHUB_STEP_SUMMARY: totals, then every failed or
// errored test case with the first lines of its message. A plain step instead of a third-party
// report action (one less dependency to pin and trust).
import { existsSync, readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';

export interface JunitCase {
  suite: string;
  name: string;
  status: 'passed' | 'failed' | 'error' | 'skipped';
  message?: string;
  seconds?: number;
}

type Node = Record<string, unknown>;

const asList = (v: unknown): Node[] =>
  v === undefined ? [] : Array.isArray(v) ? (v as Node[]) : [v as Node];

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') {
    const o = v as Node;
    const parts = [o['@_message'], o['#text']].filter((x) => typeof x === 'string' && x.trim() !== '');
    return parts.join('\n');
  }
  return String(v);
}

/** Every test case of a JUnit document (`<testsuites>` or a lone `<testsuite>`, suites nested or not). */
export function parseJunit(xml: string): JunitCase[] {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text' });
  const doc = parser.parse(xml) as Node;
  const out: JunitCase[] = [];
  const walk = (suite: Node, prefix: string) => {
    const name = [prefix, String(suite['@_name'] ?? '')].filter(Boolean).join(' / ');
    for (const c of asList(suite.testcase)) {
      let status: JunitCase['status'] = 'passed';
      let message: string | undefined;
      if (c.failure !== undefined) {
        status = 'failed';
        message = asList(c.failure).map(text).join('\n');
      } else if (c.error !== undefined) {
        status = 'error';
        message = asList(c.error).map(text).join('\n');
      } else if (c.skipped !== undefined) {
        status = 'skipped';
        message = asList(c.skipped).map(text).join('\n') || undefined;
      }
      const time = Number(c['@_time']);
      out.push({
        suite: name,
        name: String(c['@_name'] ?? '(unnamed)'),
        status,
        ...(message ? { message } : {}),
        ...(Number.isFinite(time) ? { seconds: time } : {}),
      });
    }
    for (const s of asList(suite.testsuite)) walk(s, name);
  };
  const roots = doc.testsuites !== undefined ? asList(doc.testsuites) : [];
  for (const r of roots) for (const s of asList(r.testsuite)) walk(s, '');
  for (const s of asList(doc.testsuite)) walk(s, '');
  return out;
}

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\r', '').split('\n').join('<br>');

/** Markdown: one totals line, then a table of what did not pass (messages cut to `maxLines`). */
export function junitMarkdown(cases: readonly JunitCase[], maxLines = 4): string {
  const count = (s: JunitCase['status']) => cases.filter((c) => c.status === s).length;
  const lines = [
    `**JUnit:** ${cases.length} tests, ${count('passed')} passed, ${count('failed')} failed, ${count('error')} errors, ${count('skipped')} skipped`,
  ];
  const bad = cases.filter((c) => c.status === 'failed' || c.status === 'error');
  if (bad.length) {
    lines.push('', '| test | status | message |', '|---|---|---|');
    for (const c of bad) {
      const msg = (c.message ?? '').trim().split('\n').slice(0, maxLines).join('\n');
      lines.push(`| ${cell(`${c.suite ? `${c.suite} / ` : ''}${c.name}`)} | ${c.status} | ${cell(msg)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The text for the step summary; a missing or unreadable report is said plainly, never thrown. */
export function summaryFor(file: string): string {
  if (!existsSync(file)) return `_no JUnit report was written (${file})_\n`;
  try {
    return junitMarkdown(parseJunit(readFileSync(file, 'utf8')));
  } catch (e) {
    return `_the JUnit report ${file} could not be read: ${(e as Error).message}_\n`;
  }
}

// `node --import tsx scripts/lib/ci/junit-summary.ts <junit.xml>` prints Markdown to stdout.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node --import tsx scripts/lib/ci/junit-summary.ts <junit.xml>\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(summaryFor(file));
  }
}
