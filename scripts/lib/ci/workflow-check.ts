// Local check of the GitHub Actions workflows, so a broken workflow fails `npm test` instead of
// the first nightly run: the SchemaStore workflow schema (offline, @action-validator/core), and
// the project's own rules: every profile is a nightly leg, every `npm run X` exists, the e2e and
// chart-check steps use only flags those CLIs document, actions pinned by commit, no inputs
// spliced into shell text, reusable-workflow calls match the called workflow's inputs.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { MODES, PROFILE_NAMES } from '../../../scenarios/index.ts';
import { CHART_CHECK_HELP } from '../../chart-check.ts';
import { CHART_CHECK_OPTIONS } from '../chart-check/options.ts';
import { E2E_OPTIONS } from '../cli/e2e-args.ts';
import { E2E_HELP } from '../cli/e2e-help.ts';

/** The long flags of an option spec that a help text documents (`--name` as a word in it). */
export function documentedFlags(options: Record<string, unknown>, help: string): string[] {
  return Object.keys(options)
    .map((k) => `--${k}`)
    .filter((f) => new RegExp(`(^|[\\s\\[(])${f.replace(/[-]/g, '\\-')}(?![A-Za-z0-9-])`, 'm').test(help));
}

/** The e2e CLI's flags as its --help documents them (scripts/lib/cli/e2e-args.ts, e2e-help.ts). */
export const E2E_FLAGS: readonly string[] = documentedFlags(E2E_OPTIONS, E2E_HELP);
/** chart-check's, likewise. */
export const CHART_CHECK_DOCUMENTED: readonly string[] = documentedFlags(
  CHART_CHECK_OPTIONS,
  CHART_CHECK_HELP,
);

export interface WorkflowFile {
  /** Path relative to the project root, used in findings. */
  path: string;
  text: string;
}

export interface Finding {
  file: string;
  line?: number;
  /** Where in the document, e.g. `jobs.test.steps[3]`. */
  where: string;
  message: string;
}

export interface CheckContext {
  /** package.json `scripts`. */
  scripts: Record<string, string>;
  /** Flags each npm script's CLI documents, keyed by script name (e2e, chart-check). */
  cliFlags: Record<string, readonly string[]>;
  /** The nightly matrix must cover these profiles (default: PROFILE_NAMES). */
  profiles?: readonly string[];
  modes?: readonly string[];
  /** Basenames of the two workflows the project's rules name. */
  ciFile?: string;
  nightlyFile?: string;
  /** Node majors the push/PR workflow must test. */
  nodeVersions?: readonly number[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

interface Parsed {
  file: WorkflowFile;
  data: Obj;
  lineOf: (path: (string | number)[]) => number | undefined;
}

const require = createRequire(import.meta.url);
// A wasm build of action-validator with SchemaStore's github-workflow.json compiled in (no network).
const validator = require('@action-validator/core') as {
  validateWorkflow(src: string): { errors: ValidationError[] };
};

interface ValidationError {
  code: string;
  detail?: string;
  path?: string;
  title: string;
  states?: { errors: ValidationError[] }[];
  location?: { line: number; column: number };
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parse(file: WorkflowFile, findings: Finding[]): Parsed | undefined {
  const lc = new LineCounter();
  const doc = parseDocument(file.text, { lineCounter: lc, prettyErrors: true });
  if (doc.errors.length) {
    for (const e of doc.errors) {
      findings.push({
        file: file.path,
        line: e.linePos?.[0]?.line,
        where: '(yaml)',
        message: `not valid YAML: ${e.message.split('\n')[0]}`,
      });
    }
    return undefined;
  }
  const data = doc.toJS() as unknown;
  if (!isObj(data)) {
    findings.push({ file: file.path, where: '(root)', message: 'a workflow must be a YAML mapping' });
    return undefined;
  }
  const lineOf = (path: (string | number)[]) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const pos = node?.range?.[0];
    return pos === undefined ? undefined : lc.linePos(pos).line;
  };
  return { file, data, lineOf };
}

/** JSON pointer (`/jobs/a/steps/1`) to the path segments yaml's getIn takes. */
function pointerPath(pointer: string): (string | number)[] {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replaceAll('~1', '/').replaceAll('~0', '~')));
}

function dotted(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('') || '(root)';
}

/**
 * action-validator nests oneOf alternatives. Follow the one the author meant: drop alternatives
 * whose type does not even match the value (`on:` written as a mapping is not the string or list
 * form), then take the one with the fewest errors (e.g. a normal job, not a reusable-workflow call).
 */
function leafErrors(errors: ValidationError[]): ValidationError[] {
  const out: ValidationError[] = [];
  for (const e of errors) {
    const states = e.states ?? [];
    const branches = states.map((s) => s.errors);
    const typed = branches.filter((b) => !b.some((x) => x.code === 'wrong_type' && x.path === e.path));
    const leaves = (typed.length ? typed : branches).map(leafErrors).filter((l) => l.length > 0);
    if (leaves.length === 0) {
      // No alternative fails on its own: the value matches several at once.
      out.push(
        e.code === 'one_of'
          ? { ...e, detail: 'matches more than one allowed form at once (a step with both uses and run?)' }
          : e,
      );
      continue;
    }
    leaves.sort((a, b) => a.length - b.length);
    out.push(...(leaves[0] as ValidationError[]));
  }
  return out;
}

function schemaFindings(p: Parsed): Finding[] {
  const result = validator.validateWorkflow(p.file.text);
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const e of leafErrors(result.errors)) {
    const path = e.path ? pointerPath(e.path) : [];
    const message = `schema: ${e.detail ?? e.title}`;
    const key = `${dotted(path)} ${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // A "required" error points at the missing key; its line is its parent's.
    const line = p.lineOf(path) ?? p.lineOf(path.slice(0, -1)) ?? e.location?.line;
    out.push({ file: p.file.path, line, where: dotted(path), message });
  }
  return out;
}

interface Step {
  path: (string | number)[];
  step: Obj;
}

function jobsOf(p: Parsed): [string, Obj][] {
  const jobs = p.data.jobs;
  return isObj(jobs) ? Object.entries(jobs).filter((e): e is [string, Obj] => isObj(e[1])) : [];
}

function stepsOf(p: Parsed): Step[] {
  const out: Step[] = [];
  for (const [id, job] of jobsOf(p)) {
    const steps = job.steps;
    if (!Array.isArray(steps)) continue;
    steps.forEach((s, i) => {
      if (isObj(s)) out.push({ path: ['jobs', id, 'steps', i], step: s });
    });
  }
  return out;
}

const SHA = /^[0-9a-f]{40}$/;

function pinFindings(p: Parsed): Finding[] {
  const out: Finding[] = [];
  const check = (uses: unknown, path: (string | number)[]) => {
    if (typeof uses !== 'string' || uses.startsWith('./')) return;
    if (uses.startsWith('docker://')) {
      if (!/@sha256:[0-9a-f]{64}$/.test(uses)) {
        out.push({
          file: p.file.path,
          line: p.lineOf(path),
          where: dotted(path),
          message: `${uses}: pin the image by digest (docker://image@sha256:...)`,
        });
      }
      return;
    }
    const ref = uses.split('@')[1];
    if (!ref || !SHA.test(ref)) {
      out.push({
        file: p.file.path,
        line: p.lineOf(path),
        where: dotted(path),
        message: `${uses}: pin third-party actions by full commit sha (owner/repo@<40 hex> # vX.Y.Z); a tag can move`,
      });
    }
  };
  for (const { path, step } of stepsOf(p)) check(step.uses, [...path, 'uses']);
  for (const [id, job] of jobsOf(p)) check(job.uses, ['jobs', id, 'uses']);
  return out;
}

/** `npm test`, `npm run x`, `npm run-script x`, `npm start`: the scripts a shell text calls. */
export function npmScriptsIn(script: string): string[] {
  const out: string[] = [];
  for (const m of script.matchAll(/\bnpm\s+(?:run|run-script)\s+([A-Za-z0-9:._-]+)/g))
    out.push(m[1] as string);
  for (const m of script.matchAll(/\bnpm\s+(test|start|stop|restart)\b/g)) out.push(m[1] as string);
  return out;
}

/** The long flags (`--name`) in a shell text, without their `=value`. */
export function longFlagsIn(script: string): string[] {
  const out: string[] = [];
  // A flag stands alone: after whitespace, `(` or a quote; `--` alone (end of npm's options) is not one.
  for (const m of script.matchAll(/(?:^|[\s("'])(--[A-Za-z][A-Za-z0-9-]*)/g)) out.push(m[1] as string);
  return out;
}

const INJECTABLE = /\$\{\{[^}]*\b(inputs\.|github\.event\.|github\.head_ref)[^}]*\}\}/;

function runFindings(p: Parsed, ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  for (const { path, step } of stepsOf(p)) {
    const run = step.run;
    if (typeof run !== 'string') continue;
    const where = dotted(path);
    const line = p.lineOf([...path, 'run']);
    const f = (message: string) => out.push({ file: p.file.path, line, where, message });
    for (const name of npmScriptsIn(run)) {
      if (!(name in ctx.scripts)) {
        f(
          `npm script '${name}' does not exist in package.json (scripts: ${Object.keys(ctx.scripts).join(', ')})`,
        );
      }
    }
    const called = [...run.matchAll(/\bnpm\s+run\s+([A-Za-z0-9:._-]+)/g)]
      .map((m) => m[1] as string)
      .filter((n) => n in ctx.cliFlags);
    for (const name of new Set(called)) {
      const documented = ctx.cliFlags[name] as readonly string[];
      // One CLI per step: every long flag in the step then belongs to it (flags may be built up
      // in a bash array before the call), so a step must not mix it with other long-flag commands.
      const npmOwn = new Set(['--no-audit', '--no-fund', '--silent', '--prefix']);
      for (const flag of new Set(longFlagsIn(run))) {
        if (npmOwn.has(flag) || documented.includes(flag)) continue;
        f(
          `'${flag}' is not a documented flag of \`npm run ${name}\` (documented: ${documented.join(' ')}); keep a step that calls it free of other long-flag commands`,
        );
      }
    }
    const inj = INJECTABLE.exec(run);
    if (inj) {
      f(
        `expression ${inj[0]} is spliced into the shell text (script injection); pass it through env: and use "$VAR"`,
      );
    }
  }
  return out;
}

function calledWorkflowFindings(p: Parsed, byPath: Map<string, Parsed>): Finding[] {
  const out: Finding[] = [];
  for (const [id, job] of jobsOf(p)) {
    const uses = job.uses;
    if (typeof uses !== 'string' || !uses.startsWith('./')) continue;
    const path = ['jobs', id, 'uses'];
    const f = (message: string, at = path) =>
      out.push({ file: p.file.path, line: p.lineOf(at), where: dotted(at), message });
    const target = byPath.get(uses.replace(/^\.\//, '').replace(/@.*$/, ''));
    if (!target) {
      f(`${uses}: no such workflow file`);
      continue;
    }
    const on = target.data.on;
    const call = isObj(on) ? on.workflow_call : undefined;
    if (!isObj(on) || !('workflow_call' in on)) {
      f(`${uses} is not callable: it has no on.workflow_call`);
      continue;
    }
    const inputs = isObj(call) && isObj(call.inputs) ? call.inputs : {};
    const given = isObj(job.with) ? job.with : {};
    for (const k of Object.keys(given)) {
      if (!(k in inputs)) {
        f(`input '${k}' is not declared by ${uses} (inputs: ${Object.keys(inputs).join(', ')})`, [
          'jobs',
          id,
          'with',
          k,
        ]);
      }
    }
    for (const [k, spec] of Object.entries(inputs)) {
      if (isObj(spec) && spec.required === true && !('default' in spec) && !(k in given)) {
        f(`required input '${k}' of ${uses} is not given`);
      }
    }
  }
  return out;
}

interface Leg {
  index: number;
  leg?: string;
  profile?: string;
  mode: string;
  strict: boolean;
  documentation: boolean;
}

function nightlyFindings(p: Parsed, ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const profiles = ctx.profiles ?? PROFILE_NAMES;
  const modes = ctx.modes ?? MODES;
  const f = (where: (string | number)[], message: string) =>
    out.push({ file: p.file.path, line: p.lineOf(where), where: dotted(where), message });

  const on = isObj(p.data.on) ? p.data.on : {};
  if (!('schedule' in on)) f(['on'], 'the nightly workflow has no schedule trigger');
  const dispatch = on.workflow_dispatch;
  const inputs = isObj(dispatch) && isObj(dispatch.inputs) ? dispatch.inputs : undefined;
  if (!inputs) {
    f(['on'], 'the nightly workflow needs workflow_dispatch with inputs profile, mode, direktiv-ref');
  } else {
    const options = (k: string) => {
      const spec = inputs[k];
      return isObj(spec) && Array.isArray(spec.options) ? spec.options.map(String) : undefined;
    };
    const want = ['all', ...profiles];
    const got = options('profile');
    if (!got || got.join() !== want.join()) {
      f(['on', 'workflow_dispatch', 'inputs', 'profile'], `input profile must offer: ${want.join(', ')}`);
    }
    const gotModes = options('mode');
    if (!gotModes || gotModes.join() !== modes.join()) {
      f(['on', 'workflow_dispatch', 'inputs', 'mode'], `input mode must offer: ${modes.join(', ')}`);
    }
    if (!('direktiv-ref' in inputs)) {
      f(['on', 'workflow_dispatch', 'inputs'], 'input direktiv-ref (the chart under test) is missing');
    }
  }

  // The matrix job: the one whose include entries carry a profile.
  const matrixJobs = jobsOf(p).filter(([, job]) => {
    const strategy = job.strategy;
    const matrix = isObj(strategy) ? strategy.matrix : undefined;
    return (
      isObj(matrix) && Array.isArray(matrix.include) && matrix.include.some((i) => isObj(i) && 'profile' in i)
    );
  });
  if (matrixJobs.length !== 1) {
    f(['jobs'], `expected one matrix job whose include entries name a profile, found ${matrixJobs.length}`);
    return out;
  }
  const [id, job] = matrixJobs[0] as [string, Obj];
  const strategy = job.strategy as Obj;
  if (strategy['fail-fast'] !== false) {
    f(['jobs', id, 'strategy'], 'fail-fast must be false: one failing profile must not cancel the others');
  }
  const include = (strategy.matrix as Obj).include as Json[];
  const legs: Leg[] = include.map((e, index) => {
    const o = isObj(e) ? e : {};
    return {
      index,
      leg: typeof o.leg === 'string' ? o.leg : undefined,
      profile: typeof o.profile === 'string' ? o.profile : undefined,
      mode: typeof o.mode === 'string' ? o.mode : 'corrected',
      strict: o.strict === true,
      documentation: o.documentation === true,
    };
  });
  const at = (i: number) => ['jobs', id, 'strategy', 'matrix', 'include', i];
  const names = new Set<string>();
  for (const l of legs) {
    if (!l.leg) f(at(l.index), 'a leg needs a name (leg:): it names the output folder and the artifacts');
    else if (names.has(l.leg)) f(at(l.index), `leg name '${l.leg}' is used twice (artifact names collide)`);
    else names.add(l.leg);
    if (!l.profile || !profiles.includes(l.profile)) {
      f(at(l.index), `unknown profile '${l.profile ?? ''}' (profiles: ${profiles.join(', ')})`);
    }
    if (!modes.includes(l.mode)) f(at(l.index), `unknown mode '${l.mode}' (modes: ${modes.join(', ')})`);
    if (l.mode === 'as-documented' && !l.documentation) {
      f(
        at(l.index),
        `leg '${l.leg}' runs as-documented but is not a documentation leg (documentation: true); the page fails by design and the leg would be red every night`,
      );
    }
  }
  for (const profile of profiles) {
    if (!legs.some((l) => l.profile === profile && l.mode === 'corrected' && !l.strict)) {
      f(
        ['jobs', id, 'strategy', 'matrix', 'include'],
        `profile ${profile} has no nightly leg (corrected mode)`,
      );
    }
  }
  if (!legs.some((l) => l.documentation && l.mode === 'as-documented' && l.profile === 'full-mtls')) {
    f(
      ['jobs', id, 'strategy', 'matrix', 'include'],
      'no documentation leg: full-mtls in mode as-documented with documentation: true',
    );
  }
  // A reusable leg must receive the matrix values, or every leg runs the same thing.
  if (typeof job.uses === 'string') {
    const w = isObj(job.with) ? job.with : {};
    for (const k of ['leg', 'profile', 'mode', 'strict']) {
      if (w[k] !== `\${{ matrix.${k} }}`) {
        f(['jobs', id, 'with'], `with.${k} must be \${{ matrix.${k} }}`);
      }
    }
  }
  return out;
}

function ciFindings(p: Parsed, ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const f = (where: (string | number)[], message: string) =>
    out.push({ file: p.file.path, line: p.lineOf(where), where: dotted(where), message });
  const on = p.data.on;
  const events = Array.isArray(on)
    ? on.map(String)
    : isObj(on)
      ? Object.keys(on)
      : typeof on === 'string'
        ? [on]
        : [];
  for (const e of ['push', 'pull_request'])
    if (!events.includes(e)) f(['on'], `the CI workflow must run on ${e}`);
  const want = ctx.nodeVersions ?? [20, 22, 24];
  const testJobs = jobsOf(p).filter(([, job]) =>
    (Array.isArray(job.steps) ? job.steps : []).some(
      (s) => isObj(s) && typeof s.run === 'string' && npmScriptsIn(s.run).includes('test'),
    ),
  );
  if (testJobs.length === 0) {
    f(['jobs'], 'no job runs `npm test`');
    return out;
  }
  for (const [id, job] of testJobs) {
    const strategy = isObj(job.strategy) ? job.strategy : {};
    const matrix = isObj(strategy.matrix) ? strategy.matrix : {};
    const nodes = Array.isArray(matrix.node) ? matrix.node.map(Number) : [];
    const missing = want.filter((v) => !nodes.includes(v));
    if (missing.length)
      f(['jobs', id], `npm test must run on Node ${want.join(', ')}; missing ${missing.join(', ')}`);
    const steps = Array.isArray(job.steps) ? job.steps.filter(isObj) : [];
    if (!steps.some((s) => typeof s.run === 'string' && /\bnpm\s+ci\b/.test(s.run))) {
      f(['jobs', id, 'steps'], 'install with `npm ci` (the lock file is the truth)');
    }
  }
  return out;
}

function timeoutFindings(p: Parsed): Finding[] {
  const out: Finding[] = [];
  for (const [id, job] of jobsOf(p)) {
    if ('runs-on' in job && !('timeout-minutes' in job)) {
      out.push({
        file: p.file.path,
        line: p.lineOf(['jobs', id]),
        where: `jobs.${id}`,
        message: 'set timeout-minutes: a hung cluster would otherwise hold the runner for 6 hours',
      });
    }
  }
  return out;
}

/** Checks a set of workflow files; an empty list means every rule holds. */
export function checkWorkflows(files: readonly WorkflowFile[], ctx: CheckContext): Finding[] {
  const findings: Finding[] = [];
  const parsed: Parsed[] = [];
  for (const file of files) {
    const p = parse(file, findings);
    if (p) parsed.push(p);
  }
  const byPath = new Map(parsed.map((p) => [p.file.path, p]));
  const ciFile = ctx.ciFile ?? 'ci.yml';
  const nightlyFile = ctx.nightlyFile ?? 'nightly.yml';
  for (const name of [ciFile, nightlyFile]) {
    if (!files.some((f) => basename(f.path) === name)) {
      findings.push({
        file: `.github/workflows/${name}`,
        where: '(file)',
        message: 'workflow file is missing',
      });
    }
  }
  for (const p of parsed) {
    findings.push(...schemaFindings(p));
    findings.push(...pinFindings(p));
    findings.push(...runFindings(p, ctx));
    findings.push(...calledWorkflowFindings(p, byPath));
    findings.push(...timeoutFindings(p));
    if (basename(p.file.path) === nightlyFile) findings.push(...nightlyFindings(p, ctx));
    if (basename(p.file.path) === ciFile) findings.push(...ciFindings(p, ctx));
  }
  return findings;
}

export function readWorkflows(root: string): WorkflowFile[] {
  const dir = join(root, '.github', 'workflows');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n));
  } catch {
    return [];
  }
  return names.sort().map((n) => ({
    path: `.github/workflows/${n}`,
    text: readFileSync(join(dir, n), 'utf8'),
  }));
}

export function projectContext(root: string): CheckContext {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  return {
    scripts: pkg.scripts ?? {},
    cliFlags: { e2e: E2E_FLAGS, 'chart-check': CHART_CHECK_DOCUMENTED },
  };
}

export function formatFinding(f: Finding): string {
  return `${f.file}${f.line ? `:${f.line}` : ''} ${f.where}: ${f.message}`;
}

// `node --import tsx scripts/lib/ci/workflow-check.ts [root]`: exit 0 when every rule holds.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const root = process.argv[2] ?? process.cwd();
  const files = readWorkflows(root);
  const findings = checkWorkflows(files, projectContext(root));
  for (const f of findings) process.stderr.write(`${formatFinding(f)}\n`);
  process.stdout.write(
    findings.length
      ? `workflow check: ${findings.length} problem(s) in ${files.length} file(s)\n`
      : `workflow check: ${files.length} file(s) ok\n`,
  );
  process.exitCode = findings.length ? 1 : 0;
}
