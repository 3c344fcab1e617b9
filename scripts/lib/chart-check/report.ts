// chart-check reports: terminal text (failures in full, passes counted), Markdown for the CI
// job summary. JSON is the CheckReport itself.
import type { CheckReport, ProfileReport, Row } from './check.ts';

const status = (p: ProfileReport) =>
  p.renderError?.underTest ? 'RENDER FAILED' : p.failed ? `FAIL (${p.failed})` : 'ok';
const refStatus = (p: ProfileReport) => {
  if (p.renderError?.against) return 'render failed';
  const failed = p.rows.filter((r) => r.against && !r.against.ok).length;
  return p.rows.some((r) => r.against) ? (failed ? `fail (${failed})` : 'ok') : '-';
};

function againstLabel(r: CheckReport): string {
  if (!r.against) return 'no reference chart';
  return 'dir' in r.against ? r.against.label : `${r.against.label} (unavailable: ${r.against.unavailable})`;
}

function rowNote(row: Row): string {
  if (!row.against) return '';
  if (row.regression) return 'REGRESSION: holds in the reference chart';
  return row.against.ok ? '' : `also fails in the reference chart: ${row.against.actual}`;
}

export function textReport(r: CheckReport): string {
  const out: string[] = [`chart-check: ${r.chart.label}`, `  against:   ${againstLabel(r)}`, ''];
  for (const p of r.profiles) {
    const total = p.rows.length;
    out.push(
      `profile ${p.scenario} (${p.mode}, namespace ${p.namespace}): ${p.failed ? `${p.failed} of ${total} requirements fail` : `all ${total} requirements hold`}${p.regressions ? `, ${p.regressions} regression(s)` : ''}`,
    );
    if (p.renderError?.underTest) out.push(`  helm template failed: ${p.renderError.underTest}`);
    if (p.renderError?.against)
      out.push(`  (reference chart: helm template failed: ${p.renderError.against})`);
    for (const row of p.rows.filter((x) => !x.underTest.ok)) {
      if (p.renderError?.underTest) break;
      out.push(`  FAIL ${row.object}: ${row.what}`);
      out.push(`       found:   ${row.underTest.actual}`);
      const note = rowNote(row);
      if (note) out.push(`       ${note}`);
      out.push(`       because: ${row.because}`);
    }
  }
  out.push('', 'profile'.padEnd(16) + 'under test'.padEnd(16) + 'reference');
  for (const p of r.profiles) out.push(p.scenario.padEnd(16) + status(p).padEnd(16) + refStatus(p));
  out.push('', r.ok ? 'chart-check: every requirement holds' : 'chart-check: requirements fail (see above)');
  return `${out.join('\n')}\n`;
}

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function markdownReport(r: CheckReport): string {
  const out: string[] = [
    `## chart-check: ${r.ok ? 'every requirement holds' : 'requirements fail'}`,
    '',
    `Chart under test: \`${r.chart.label}\`; reference: ${cell(againstLabel(r))}`,
    '',
    '| profile | requirements | under test | reference |',
    '|---|---|---|---|',
  ];
  for (const p of r.profiles)
    out.push(`| ${p.scenario} | ${p.rows.length} | ${status(p)} | ${refStatus(p)} |`);
  const failing = r.profiles.filter((p) => p.failed);
  if (failing.length) {
    out.push('', '| profile | object | requirement | found | reference |', '|---|---|---|---|---|');
    for (const p of failing) {
      for (const row of p.rows.filter((x) => !x.underTest.ok)) {
        const ref = row.against ? (row.against.ok ? 'ok (regression)' : row.against.actual) : '-';
        out.push(
          `| ${p.scenario} | ${cell(row.object)} | ${cell(row.what)} | ${cell(row.underTest.actual)} | ${cell(ref)} |`,
        );
      }
    }
  }
  return `${out.join('\n')}\n`;
}
