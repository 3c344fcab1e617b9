// Reads a saved JSON run report (e2e, lab or control-plane --json) back for drawing. Checks the
// shape the renderers read, and names the first thing wrong in one line: a malformed file is bad
// input (exit 2), never a half-drawn picture.
import { readFileSync } from 'node:fs';
import { BadInputError } from '../../../scenarios/errors.ts';
import type { HtmlReport } from './html.ts';

const HINT = 'give a report.json written by e2e, lab or control-plane --json';

/** What is wrong with a report file: the field (empty for the whole file) and the problem. */
export class ReportFileError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(field ? `${field} ${problem}` : problem);
  }
}

type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

function need(cond: boolean, where: string, what: string): void {
  if (!cond) throw new ReportFileError(where, what);
}

function checkVerdict(v: unknown, where: string): void {
  need(isObj(v), where, 'is not an object');
  const o = v as Json;
  need(typeof o.path === 'string', where, 'has no path');
  need(typeof o.status === 'string', where, 'has no status');
  need(isObj(o.expected) && typeof (o.expected as Json).state === 'string', where, 'has no expected.state');
  // The lists every renderer walks (found by fuzzing: a null here crashed the terminal report).
  for (const k of ['basis', 'warnings'] as const) need(Array.isArray(o[k]), where, `has no ${k} list`);
  for (const k of ['reasons', 'inconclusive', 'judgements'] as const)
    need(o[k] === undefined || Array.isArray(o[k]), where, `has ${k} that are not a list`);
}

function checkListOf(list: unknown[], where: string, fields: Record<string, 'string' | 'number'>): void {
  for (const [i, x] of list.entries()) {
    need(isObj(x), `${where}[${i}]`, 'is not an object');
    for (const [k, t] of Object.entries(fields))
      need(typeof (x as Json)[k] === t, `${where}[${i}]`, `has no ${k} (a ${t})`);
  }
}

function checkResult(r: unknown, where: string): void {
  need(isObj(r), where, 'is not an object');
  const o = r as Json;
  need(isObj(o.scenario), where, 'has no scenario');
  const s = o.scenario as Json;
  for (const k of ['name', 'mode', 'namespace', 'serviceNamespace'] as const)
    need(typeof s[k] === 'string', `${where}.scenario`, `has no ${k}`);
  need(Array.isArray(s.features), `${where}.scenario`, 'has no features list');
  need(Array.isArray(o.verdicts), where, 'has no verdicts list');
  for (const [i, v] of (o.verdicts as unknown[]).entries()) checkVerdict(v, `${where}.verdicts[${i}]`);
  need(Array.isArray(o.exemptions), where, 'has no exemptions list');
  need(Array.isArray(o.deviations), where, 'has no deviations list');
  need(Array.isArray(o.notes), where, 'has no notes list');
  checkListOf(o.deviations as unknown[], `${where}.deviations`, {
    id: 'number',
    title: 'string',
    effect: 'string',
  });
  checkListOf(o.exemptions as unknown[], `${where}.exemptions`, {
    id: 'string',
    port: 'number',
    reason: 'string',
  });
  need(typeof o.durationMs === 'number', where, 'has no durationMs');
}

/** The report in `text` (the file's content), or a ReportFileError naming what is wrong. */
export function parseReport(text: string): HtmlReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ReportFileError('', `is not JSON (${(e as Error).message})`);
  }
  need(isObj(data), '', 'is not an object');
  const o = data as Json;
  need(o.tool === 'direktiv-tls-e2e', '', "has no tool: 'direktiv-tls-e2e' (not a run report)");
  need(Array.isArray(o.results) && o.results.length > 0, '', 'has no results');
  for (const [i, r] of (o.results as unknown[]).entries()) checkResult(r, `results[${i}]`);
  need(isObj(o.summary), '', 'has no summary');
  for (const k of ['profiles', 'paths', 'pass', 'warn', 'fail', 'exempt'])
    need(typeof (o.summary as Json)[k] === 'number', 'summary', `has no ${k} count`);
  need(typeof o.generatedAt === 'string', '', 'has no generatedAt');
  if (o.steps !== undefined) need(Array.isArray(o.steps), '', 'has steps that are not a list');
  return data as HtmlReport;
}

/** The report in `file`; a missing or malformed file is bad input (exit 2) naming file and field. */
export function readReport(file: string): HtmlReport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`;
    throw new BadInputError(file, undefined, problem, HINT);
  }
  try {
    return parseReport(text);
  } catch (e) {
    if (!(e instanceof ReportFileError)) throw e;
    throw new BadInputError(file, e.field || undefined, e.problem, HINT);
  }
}
