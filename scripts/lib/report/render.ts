// The report in four forms: a terminal table (profiles x paths, with a legend), JSON (every piece
// of evidence), JUnit XML (one test case per profile x path, `<profile>/<path-id>`, the verdict's
// reason as failure text; exempt paths as skipped cases) and Markdown for a CI job summary.
// Exempt paths are listed and counted in every form. No form may carry private key material.
import { PATH_IDS } from '../../../scenarios/index.ts';
import type { FlowSummary } from '../evidence/types.ts';
import type { PathVerdict } from '../verdict/verdict.ts';
import { ARROW_CLASSES, ARROW_STYLES } from './arrow-style.ts';
import { buildDiagram } from './diagram.ts';
import { errataOnPaths } from './errata-paths.ts';
import { renderMermaid } from './mermaid.ts';
import { type ProfileResult, type RunReport, reportOutcome } from './types.ts';

const SYMBOL = { pass: '✓', warn: '!', fail: '✗', inconclusive: '?' } as const;
const EMOJI = { pass: '✅', warn: '⚠️', fail: '❌', inconclusive: '❔' } as const;
const RESULT_WORD = { pass: 'PASS', fail: 'FAIL', inconclusive: 'INCONCLUSIVE' } as const;

/** Refuses to emit anything that looks like a private key: a report is shared, a key never is. */
export function assertNoKeyMaterial(text: string, what: string): string {
  if (/PRIVATE KEY/.test(text))
    throw new Error(`refusing to write ${what}: it contains private key material`);
  return text;
}

export function columnName(r: ProfileResult): string {
  const extras = [
    r.scenario.mode === 'as-documented' ? 'as-documented' : '',
    r.scenario.strict ? 'strict' : '',
    r.mutation ? `mutate ${r.mutation.name}@${r.mutation.path}` : '',
  ].filter(Boolean);
  return extras.length ? `${r.scenario.name} [${extras.join(', ')}]` : r.scenario.name;
}

function cell(v: PathVerdict | undefined): string {
  if (!v) return '-';
  const seen = v.observed ?? (v.ok ? v.expected.state : '?');
  const want = v.status === 'fail' && seen !== v.expected.state ? ` (want ${v.expected.state})` : '';
  return `${SYMBOL[v.status]} ${seen}${want}`;
}

function pad(s: string, n: number): string {
  // Symbols are one column wide in a terminal; String.length agrees for these.
  return s + ' '.repeat(Math.max(0, n - s.length));
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => pad(c, widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const LEGEND = [
  'Legend: ✓ pass   ! pass with a warning   ✗ fail   ? inconclusive (the server refused the real client too)',
  '        (want X) = the state the profile expects',
  '        cell = the state seen on the wire: plain | tls | mtls (client certificate required) |',
  '        https (TLS, port 80 redirects) | tls+plain (TLS and plaintext both served) | down (nothing answered)',
];

/** `server: stand-in, client: stand-in` for a path served or called by stand-ins; '' when real. */
export function actorsText(r: ProfileResult, path: string): string {
  const a = r.actors?.[path as keyof NonNullable<ProfileResult['actors']>];
  return a ? `server: ${a.server}, client: ${a.client}` : '';
}

function basisWord(v: PathVerdict): string {
  return v.basis.length ? v.basis.join('+') : 'no evidence';
}

function flowLine(f: FlowSummary): string {
  const tls = [f.tlsVersion, f.sni ? `SNI ${f.sni}` : '', f.alpn?.length ? `ALPN ${f.alpn.join(',')}` : '']
    .filter(Boolean)
    .join(', ');
  return `${f.client} -> ${f.server} ${f.class}${tls ? ` (${tls})` : ''}, ${f.plaintextBytes} bytes in clear`;
}

function exemptFlows(r: ProfileResult): number {
  return (r.capture?.exempt ?? []).reduce((n, e) => n + e.flows.length, 0);
}

/** One line per profile: what the capture holds and what fit no path. */
function captureLine(r: ProfileResult): string {
  const c = r.capture!;
  const dropped = c.droppedByKernel ? `; ${c.droppedByKernel} packets dropped by the kernel` : '';
  return `${c.driver}: ${c.flows} flows in ${c.packets} packets; ${exemptFlows(r)} exempt, ${c.unattributed.length} unattributed${dropped}${c.file ? `; kept in ${c.file}` : ''}`;
}

/** The passive evidence of every captured profile: the judgement per path, exempt and unattributed flows. */
function captureSection(rs: readonly ProfileResult[]): string[] {
  const captured = rs.filter((r) => r.capture);
  if (captured.length === 0) return [];
  const out = ['', `Passive capture (${captured[0]!.capture!.scope}):`];
  for (const r of captured) {
    const c = r.capture!;
    out.push(`  ${columnName(r)}: ${captureLine(r)}`);
    for (const v of r.verdicts) {
      const j = v.judgements.find((x) => x.kind === 'passive');
      if (j) out.push(`    ${j.ok ? SYMBOL.pass : SYMBOL.fail} ${v.path}: ${j.reason}`);
    }
    for (const e of c.exempt) out.push(`    exempt ${e.id}: ${e.flows.length} flows (${e.reason})`);
    for (const u of c.unattributed) out.push(`    unattributed: ${flowLine(u.flow)}: ${u.reason}`);
    for (const w of c.warnings) out.push(`    ${SYMBOL.warn} ${w}`);
  }
  return out;
}

export function renderTerminal(report: RunReport): string {
  const out: string[] = [];
  const rs = report.results;
  const header = ['path', ...rs.map(columnName)];
  const rows = PATH_IDS.map((id) => [id, ...rs.map((r) => cell(r.verdicts.find((v) => v.path === id)))]);
  const sources = [...new Set(rs.map((r) => r.source))].join(', ');
  out.push(`Direktiv TLS assertions (${sources})`, '', table(header, rows), '', ...LEGEND);
  out.push(...provenanceLines(report));
  const failures = rs.flatMap((r) => r.verdicts.filter((v) => v.status === 'fail').map((v) => ({ r, v })));
  if (failures.length) {
    out.push('', 'Failures:');
    for (const { r, v } of failures)
      out.push(`  ✗ ${r.scenario.name}/${v.path} [${basisWord(v)}]: ${v.reason}`);
  }
  const undecided = rs.flatMap((r) =>
    r.verdicts.filter((v) => v.status === 'inconclusive').map((v) => ({ r, v })),
  );
  if (undecided.length) {
    out.push('', 'Inconclusive (neither pass nor fail; both answers given):');
    for (const { r, v } of undecided)
      out.push(`  ? ${r.scenario.name}/${v.path} [${basisWord(v)}]: ${v.inconclusive.join('; ')}`);
  }
  const warnings = rs.flatMap((r) => r.verdicts.flatMap((v) => v.warnings.map((w) => ({ r, v, w }))));
  if (warnings.length) {
    out.push('', 'Warnings:');
    for (const { r, v, w } of warnings) out.push(`  ! ${r.scenario.name}/${v.path}: ${w}`);
  }
  out.push(...captureSection(rs));
  for (const r of rs.filter((x) => x.mutation)) {
    out.push(
      '',
      `Planted flaw in ${r.scenario.name}: ${r.mutation!.name} on ${r.mutation!.path} (${r.mutation!.description})`,
    );
  }
  const notes = rs.flatMap((r) => r.notes.map((n) => `${r.scenario.name}: ${n}`));
  if (notes.length) out.push('', 'Notes:', ...notes.map((n) => `  - ${n}`));
  // Exemptions: identical in every profile; listed once, counted per profile.
  const ex = rs[0]?.exemptions ?? [];
  out.push(
    '',
    `Exempt (plaintext in every profile; Direktiv v0.4.x has no setting for them): ${ex.length} per profile, ${report.summary.exempt} in total`,
  );
  for (const e of ex) out.push(`  - ${e.id} (${e.server}${e.port ? `:${e.port}` : ''}): ${e.reason}`);
  for (const r of rs) {
    const applied = r.deviations.filter((d) => d.effect.startsWith('applied')).map((d) => `#${d.id}`);
    const not = r.deviations.filter((d) => !d.effect.startsWith('applied')).map((d) => `#${d.id}`);
    if (r.deviations.length) {
      out.push(
        `Deviations from the page, ${r.scenario.name} (${r.scenario.mode}${r.scenario.strict ? ', --strict' : ''}): applied ${applied.join(' ') || 'none'}${
          not.length ? `; not applied ${not.join(' ')}` : ''
        }`,
      );
    }
  }
  const bases = new Map<string, number>();
  for (const v of rs.flatMap((r) => r.verdicts)) bases.set(basisWord(v), (bases.get(basisWord(v)) ?? 0) + 1);
  out.push(
    '',
    `Evidence behind the verdicts: ${[...bases].map(([b, n]) => `${n} rest on ${b}`).join(', ')} (kinds: passive capture, active probe, configuration)`,
  );
  const s = report.summary;
  out.push(
    '',
    `${s.profiles} profile${s.profiles === 1 ? '' : 's'}, ${s.paths} paths: ${s.pass} pass, ${s.warn} warn, ${s.fail} fail${
      s.inconclusive ? `, ${s.inconclusive} inconclusive` : ''
    }; ${s.exempt} exempt listed`,
    `RESULT: ${RESULT_WORD[reportOutcome(report)]}`,
  );
  return assertNoKeyMaterial(`${out.join('\n')}\n`, 'the terminal report');
}

/** Who served and called each path (when stand-ins did), the components, the blocked steps. */
function provenanceLines(report: RunReport): string[] {
  const out: string[] = [];
  for (const r of report.results.filter((x) => x.actors)) {
    out.push('', `Who served and called each path (${r.scenario.name}):`);
    for (const v of r.verdicts) {
      const a = actorsText(r, v.path);
      if (a) out.push(`  ${pad(v.path, 18)} ${a}`);
    }
  }
  if (report.components?.length) {
    out.push('', 'Components:');
    for (const c of report.components) out.push(`  - ${c.name} ${c.version}: ${c.source}`);
  }
  if (report.blocked?.length) {
    out.push('', `Blocked (not run here, never counted as pass): ${report.blocked.length} step(s)`);
    for (const b of report.blocked) out.push(`  ⊘ ${b.id}: ${b.reason}`);
  }
  return out;
}

export function renderJson(report: RunReport): string {
  return assertNoKeyMaterial(`${JSON.stringify(report, null, 2)}\n`, 'the JSON report');
}

/** XML 1.0 text: escapes markup and drops the control characters XML cannot carry. */
export function xmlEscape(s: string): string {
  return [...s]
    .filter((ch) => {
      const c = ch.codePointAt(0) ?? 0;
      return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c !== 0xfffe && c !== 0xffff);
    })
    .join('')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function verdictDetails(v: PathVerdict): string {
  const lines = [
    `expected: ${v.expected.state}${v.expected.plainPortOpen ? ' (plain port open by design)' : ''}`,
    `observed: ${v.observed ?? 'n/a'}`,
    `evidence: ${basisWord(v)}`,
  ];
  for (const j of v.judgements) {
    const word = j.ok ? 'pass' : j.reasons.length ? 'fail' : 'inconclusive';
    lines.push(`${j.kind}: ${word}: ${j.reason}`);
  }
  for (const f of v.evidence.passive?.flows ?? []) lines.push(`  flow ${flowLine(f)}`);
  const checks = v.evidence.active?.checks ?? [];
  for (const c of checks)
    lines.push(`  ${c.ok ? 'ok  ' : c.status === 'inconclusive' ? '??  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  for (const w of v.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export function renderJunit(report: RunReport): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  for (const r of report.results) {
    const name = r.scenario.name;
    const cases: string[] = [];
    for (const v of r.verdicts) {
      const body: string[] = [];
      if (v.status === 'fail') {
        body.push(
          `      <failure message="${xmlEscape(v.reason)}" type="verdict">${xmlEscape(verdictDetails(v))}</failure>`,
        );
      } else if (v.status === 'inconclusive') {
        // Neither a pass nor a failure: JUnit's "error" (the test could not decide).
        body.push(
          `      <error message="${xmlEscape(v.reason)}" type="inconclusive">${xmlEscape(verdictDetails(v))}</error>`,
        );
      }
      const actors = actorsText(r, v.path);
      body.push(
        `      <system-out>${xmlEscape(`${actors ? `${actors}\n` : ''}${verdictDetails(v)}`)}</system-out>`,
      );
      const time = ((v.evidence.active?.durationMs ?? 0) / 1000).toFixed(3);
      cases.push(
        `    <testcase name="${xmlEscape(`${name}/${v.path}`)}" classname="${xmlEscape(name)}" time="${time}">\n${body.join('\n')}\n    </testcase>`,
      );
    }
    for (const e of r.exemptions) {
      cases.push(
        `    <testcase name="${xmlEscape(`${name}/${e.id}`)}" classname="${xmlEscape(`${name}.exempt`)}" time="0">\n      <skipped message="${xmlEscape(`exempt: ${e.reason}`)}"/>\n    </testcase>`,
      );
    }
    const f = r.verdicts.filter((v) => v.status === 'fail').length;
    const errs = r.verdicts.filter((v) => v.status === 'inconclusive').length;
    const n = r.verdicts.length + r.exemptions.length;
    tests += n;
    failures += f;
    errors += errs;
    skipped += r.exemptions.length;
    const props = [
      ['source', r.source],
      ['mode', r.scenario.mode],
      ['features', r.scenario.features.join(',') || 'none'],
      ['namespace', r.scenario.namespace],
      ['strict', String(r.scenario.strict)],
      ['exempt', String(r.exemptions.length)],
      ...(r.mutation ? [['mutation', `${r.mutation.name}@${r.mutation.path}`]] : []),
      ...(r.capture ? [['capture', captureLine(r)]] : []),
      ...(r.actors
        ? PATH_IDS.filter((p) => actorsText(r, p)).map((p) => [`actors ${p}`, actorsText(r, p)])
        : []),
      ...(report.components ?? []).map((c) => [`component ${c.name}`, `${c.version}: ${c.source}`]),
      ...(report.blocked ?? []).map((b) => [`blocked ${b.id}`, b.reason]),
    ]
      .map(([k, val]) => `      <property name="${xmlEscape(k!)}" value="${xmlEscape(val!)}"/>`)
      .join('\n');
    suites.push(
      `  <testsuite name="${xmlEscape(columnName(r))}" tests="${n}" failures="${f}" errors="${errs}" skipped="${r.exemptions.length}" time="${(
        r.durationMs / 1000
      ).toFixed(3)}">\n    <properties>\n${props}\n    </properties>\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="direktiv-tls-e2e" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}">\n${suites.join('\n')}\n</testsuites>\n`;
  return assertNoKeyMaterial(xml, 'the JUnit report');
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, ' ');
}

/** Colour words for the Mermaid legend (Markdown cannot show a swatch). */
const COLOUR_WORD: Record<string, string> = {
  mtls: 'dark green',
  tls: 'green',
  plain: 'grey',
  warn: 'amber',
  fail: 'red',
  inconclusive: 'purple dashed',
  unchecked: 'grey dotted',
  exempt: 'light grey dashed',
};

/** Each profile's topology as a Mermaid chart (open when it failed or is the only one). */
function topologyMarkdown(rs: readonly ProfileResult[]): string[] {
  const out = [
    '',
    '#### Topology',
    '',
    ARROW_CLASSES.map((c) => `${COLOUR_WORD[c]}: ${ARROW_STYLES[c].legend}`).join(' · '),
  ];
  for (const r of rs) {
    const errata = errataOnPaths(r);
    const diagram = buildDiagram(r, errata?.byPath);
    const open = rs.length === 1 || r.verdicts.some((v) => v.status === 'fail') ? ' open' : '';
    out.push(
      '',
      `<details${open}><summary>${mdEscape(columnName(r))}: arrows coloured by verdict</summary>`,
      '',
      '```mermaid',
      renderMermaid(diagram),
      '```',
      '',
      '</details>',
    );
  }
  return out;
}

export function renderMarkdown(report: RunReport): string {
  const rs = report.results;
  const s = report.summary;
  const out: string[] = [];
  out.push(
    `### Direktiv TLS assertions: ${{ pass: '✅ pass', fail: '❌ fail', inconclusive: '❔ inconclusive' }[reportOutcome(report)]}`,
    '',
    `${s.profiles} profile(s), ${s.paths} paths: **${s.pass} pass, ${s.warn} warn, ${s.fail} fail${
      s.inconclusive ? `, ${s.inconclusive} inconclusive` : ''
    }**; ${s.exempt} exempt listed (${[...new Set(rs.map((r) => r.source))].join(', ')})`,
    '',
    `| path | ${rs.map((r) => mdEscape(columnName(r))).join(' | ')} |`,
    `| --- | ${rs.map(() => '---').join(' | ')} |`,
  );
  for (const id of PATH_IDS) {
    const cells = rs.map((r) => {
      const v = r.verdicts.find((x) => x.path === id);
      if (!v) return '-';
      const seen = v.observed ?? v.expected.state;
      const want = v.status === 'fail' && seen !== v.expected.state ? ` (want ${v.expected.state})` : '';
      return `${EMOJI[v.status]} ${seen}${want}`;
    });
    out.push(`| \`${mdEscape(id)}\` | ${cells.join(' | ')} |`);
  }
  out.push(
    '',
    '✅ pass · ⚠️ pass with a warning · ❌ fail · ❔ inconclusive · cell = state seen on the wire, (want X) = expected',
  );
  out.push(...topologyMarkdown(rs));
  for (const r of rs.filter((x) => x.actors)) {
    out.push('', `#### Who served and called each path (${mdEscape(r.scenario.name)})`, '');
    for (const v of r.verdicts) {
      const a = actorsText(r, v.path);
      if (a) out.push(`- \`${mdEscape(v.path)}\`: ${a}`);
    }
  }
  if (report.components?.length) {
    out.push('', '#### Components', '', '| program | version | source |', '| --- | --- | --- |');
    for (const c of report.components)
      out.push(`| ${mdEscape(c.name)} | ${mdEscape(c.version)} | ${mdEscape(c.source)} |`);
  }
  if (report.blocked?.length) {
    out.push('', `#### Blocked: ${report.blocked.length} step(s), not run here, never counted as pass`, '');
    for (const b of report.blocked) out.push(`- \`${mdEscape(b.id)}\`: ${mdEscape(b.reason)}`);
  }
  const failures = rs.flatMap((r) => r.verdicts.filter((v) => v.status === 'fail').map((v) => ({ r, v })));
  if (failures.length) {
    out.push('', '#### Failures', '');
    for (const { r, v } of failures)
      out.push(`- \`${mdEscape(`${r.scenario.name}/${v.path}`)}\` (${basisWord(v)}): ${mdEscape(v.reason)}`);
  }
  const undecided = rs.flatMap((r) =>
    r.verdicts.filter((v) => v.status === 'inconclusive').map((v) => ({ r, v })),
  );
  if (undecided.length) {
    out.push('', '#### Inconclusive', '');
    for (const { r, v } of undecided)
      out.push(
        `- \`${mdEscape(`${r.scenario.name}/${v.path}`)}\` (${basisWord(v)}): ${mdEscape(v.inconclusive.join('; '))}`,
      );
  }
  const warnings = rs.flatMap((r) => r.verdicts.flatMap((v) => v.warnings.map((w) => ({ r, v, w }))));
  if (warnings.length) {
    out.push('', '#### Warnings', '');
    for (const { r, v, w } of warnings)
      out.push(`- \`${mdEscape(`${r.scenario.name}/${v.path}`)}\`: ${mdEscape(w)}`);
  }
  const ex = rs[0]?.exemptions ?? [];
  out.push(
    '',
    `<details><summary>Exempt: ${ex.length} per profile, ${s.exempt} in total (plaintext in every profile)</summary>`,
    '',
    ...ex.map(
      (e) =>
        `- \`${mdEscape(e.id)}\` ${mdEscape(e.server)}${e.port ? `:${e.port}` : ''}: ${mdEscape(e.reason)}`,
    ),
    '',
    '</details>',
  );
  const captured = rs.filter((r) => r.capture);
  if (captured.length) {
    out.push('', `#### Passive capture`, '', mdEscape(captured[0]!.capture!.scope), '');
    for (const r of captured) {
      out.push(`- \`${mdEscape(columnName(r))}\`: ${mdEscape(captureLine(r))}`);
      for (const v of r.verdicts) {
        const j = v.judgements.find((x) => x.kind === 'passive');
        if (j)
          out.push(`  - ${j.ok ? EMOJI.pass : EMOJI.fail} \`${mdEscape(v.path)}\`: ${mdEscape(j.reason)}`);
      }
      for (const u of r.capture!.unattributed) {
        out.push(`  - unattributed: ${mdEscape(flowLine(u.flow))}: ${mdEscape(u.reason)}`);
      }
    }
  }
  for (const r of rs.filter((x) => x.mutation)) {
    out.push(
      '',
      `Planted flaw in \`${r.scenario.name}\`: **${r.mutation!.name}** on \`${mdEscape(r.mutation!.path)}\``,
    );
  }
  return assertNoKeyMaterial(`${out.join('\n')}\n`, 'the Markdown report');
}
