// The reproduction bundle, written into <output>/repro/ on every failed run: what ran (profile,
// features, mode, namespaces, strict), with which versions and image digests, the Direktiv values,
// the kind config, the plan, the seed, and ONE command that replays the same run. `npm run e2e --
// --replay <dir>` reads it back with readBundle(). Private keys never enter it.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { kindClusterYaml } from '../../../kind/cluster.ts';
import * as pins from '../../../kind/versions.ts';
import { direktivValues, toValuesYaml } from '../../../scenarios/direktiv-values.ts';
import type { Scenario } from '../../../scenarios/index.ts';
import { BadInputError, UsageError } from '../../../scenarios/index.ts';
import { type E2eOptions, parseE2eArgs } from '../cli/e2e-args.ts';
import { REPORT_FORMATS } from '../cli/output-options.ts';
import { pinnedDirektivImages } from '../plan/artifacts.ts';
import { layout, scenarioDir } from '../plan/layout.ts';
import { renderPlan } from '../plan/render.ts';
import type { Plan } from '../plan/types.ts';
import { projectRoot } from '../tools/fsutil.ts';
import { holdsPrivateKey, redactSecrets } from './redact.ts';
import { shellJoin } from './shell.ts';

export const BUNDLE_VERSION = 1;
export const RUN_JSON = 'run.json';

/** The options fields the bundle records (a subset of E2eOptions: what decides the run). */
export type BundleOptions = Pick<
  E2eOptions,
  | 'scenarios'
  | 'output'
  | 'clusterName'
  | 'httpPort'
  | 'httpsPort'
  | 'chart'
  | 'direktivRef'
  | 'knativeImage'
  | 'isolatedImage'
  | 'capture'
  | 'allowLegacyTls'
  | 'keep'
  | 'keepOnFailure'
  | 'json'
  | 'junit'
  | 'markdown'
  | 'html'
>;

export interface BundleInput {
  options: BundleOptions;
  /** The run's output folder; the bundle goes to `<output>/repro`. */
  output: string;
  /** Image reference -> digest, as the run resolved them (preflight pulls). */
  imageDigests: Record<string, string>;
  plan: Plan;
  /** Whatever made the run's names random (namespaces, workflow names); replayed by --replay. */
  seed?: string;
  failure?: { step?: string; message: string };
  /** Default: read from git in the project. */
  harness?: { commit?: string; dirty?: boolean };
  /** Folder the printed command is meant to be run from (default: the project root). */
  cwd?: string;
  /** Default: the clock. */
  now?: Date;
}

export interface RecordedScenario {
  name: string;
  profile: string | null;
  features: string[];
  mode: string;
  namespace: string;
  serviceNamespace: string;
  ingressHost: string;
  strict: boolean;
}

export interface RunJson {
  bundleVersion: number;
  createdAt: string;
  harness: { name: string; version: string; commit?: string; dirty?: boolean };
  run: {
    scenarios: RecordedScenario[];
    mode: string;
    namespaces: { release: string; services: string };
    strict: boolean;
    clusterName: string;
    httpPort: number;
    httpsPort: number;
    capture: boolean;
    keep: boolean;
    keepOnFailure: boolean;
    /** The chart given with --chart, copied into the bundle (`inBundle`, relative to it). */
    chart: { original: string; inBundle: string; skipped: string[] } | null;
    /** The Direktiv ref installed: --direktiv-ref, else the pin at the time of the run. */
    direktivRef: string | null;
    direktivRefGiven: boolean;
    knativeImage: string | null;
    isolatedImage: string | null;
    output: string | null;
  };
  failure: { step?: string; message: string } | null;
  seed: string | null;
  /** Every pin of kind/versions.ts at the time of the run, and its cluster hash. */
  versions: Record<string, unknown>;
  pinsHash: string;
  images: Record<string, string>;
  files: string[];
  /** Private keys cut out of the data passed in (should stay 0). */
  redactions: number;
  replay: { argv: string[]; command: string; viaBundle: string };
}

function gitState(): { commit?: string; dirty?: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
        cwd: projectRoot,
        encoding: 'utf8',
      }).trim() !== '';
    return { commit, dirty };
  } catch {
    return {};
  }
}

function packageInfo(): { name: string; version: string } {
  try {
    const p = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    return { name: p.name, version: p.version };
  } catch {
    return { name: 'direktiv-tls-e2e', version: 'unknown' };
  }
}

/** Every data export of the pins module (functions dropped), so nothing pinned is left out. */
export function pinnedVersions(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(pins)) if (typeof v !== 'function') out[k] = v;
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}

const rel = (cwd: string, p: string) => {
  const r = relative(cwd, p);
  return r === '' ? '.' : r.startsWith('..') || isAbsolute(r) ? p : r;
};

/**
 * The flags that replay the run: everything explicit (the profile or features, mode, namespaces,
 * the Direktiv source pinned to the ref that ran), so a later change of a default or a pin does
 * not change what the replay installs. Reports go into a fresh `<output>-replay` folder.
 */
export function replayArgv(o: BundleOptions, extra: { chartPath?: string; cwd: string }): string[] {
  const s = o.scenarios;
  const first = s[0];
  if (!first) throw new Error('replayArgv: the run has no scenario');
  const a: string[] = [];
  if (s.length > 1) a.push('--profiles', s.map((x) => x.profile ?? x.name).join(','));
  else if (first.profile) a.push('--profile', first.profile);
  else a.push('--features', first.features.join(','));
  a.push('--mode', first.mode, '--namespace', first.namespace, '--service-namespace', first.serviceNamespace);
  a.push('--ingress-host', first.ingressHost);
  if (s.some((x) => x.strict)) a.push('--strict');
  if (extra.chartPath) a.push('--chart', extra.chartPath);
  else a.push('--direktiv-ref', o.direktivRef ?? pins.direktivPin.ref);
  if (o.knativeImage) a.push('--knative-image', o.knativeImage);
  if (o.isolatedImage) a.push('--isolated-image', o.isolatedImage);
  a.push(
    '--cluster-name',
    o.clusterName,
    '--http-port',
    String(o.httpPort),
    '--https-port',
    String(o.httpsPort),
  );
  if (!o.capture) a.push('--no-capture');
  if (o.allowLegacyTls) a.push('--allow-legacy-tls');
  if (o.keep) a.push('--keep');
  if (o.keepOnFailure) a.push('--keep-on-failure');
  if (o.output) {
    const out = `${o.output}-replay`;
    a.push('--output', rel(extra.cwd, out));
    // A report inside the old output lands at the same place inside the new one.
    for (const flag of REPORT_FORMATS) {
      const f = o[flag];
      if (!f) continue;
      const r = relative(o.output, f);
      const moved = r.startsWith('..') || isAbsolute(r) ? join(out, basename(f)) : join(out, r);
      a.push(`--${flag}`, rel(extra.cwd, moved));
    }
  } else {
    for (const flag of REPORT_FORMATS) {
      const f = o[flag];
      if (f) a.push(`--${flag}`, rel(extra.cwd, f.replace(/(\.[a-z]+)?$/, '-replay$1')));
    }
  }
  return a;
}

function recorded(s: Scenario): RecordedScenario {
  return {
    name: s.name,
    profile: s.profile,
    features: [...s.features],
    mode: s.mode,
    namespace: s.namespace,
    serviceNamespace: s.serviceNamespace,
    ingressHost: s.ingressHost,
    strict: s.strict,
  };
}

const looksLikeKeyFile = (p: string) => {
  if (/\.(key|p12|pfx)$/i.test(p)) return true;
  try {
    return holdsPrivateKey(readFileSync(p, 'utf8'));
  } catch {
    return false;
  }
};

/** Writes `<output>/repro/`; returns the folder, the files written and the replay command. */
export async function writeBundle(
  input: BundleInput,
): Promise<{ dir: string; files: string[]; command: string }> {
  const o = input.options;
  const cwd = input.cwd ?? projectRoot;
  const dir = join(input.output, layout.repro);
  await mkdir(dir, { recursive: true });
  const files = new Map<string, string>();
  let redactions = 0;

  // The values and kind config the run wrote, when it got that far; else regenerated from the
  // same modules (the README says which).
  const regenerated: string[] = [];
  for (const s of o.scenarios) {
    const written = join(input.output, layout.direktivValues(s.name));
    const name = `direktiv-values/${scenarioDir(s.name)}.yaml`;
    if (existsSync(written)) files.set(name, await readFile(written, 'utf8'));
    else {
      files.set(name, toValuesYaml(direktivValues(s, { images: pinnedDirektivImages() }), s));
      regenerated.push(name);
    }
  }
  const kindWritten = join(input.output, layout.kindConfig);
  if (existsSync(kindWritten)) files.set('kind-cluster.yaml', await readFile(kindWritten, 'utf8'));
  else {
    files.set('kind-cluster.yaml', kindClusterYaml({ httpPort: o.httpPort, httpsPort: o.httpsPort }));
    regenerated.push('kind-cluster.yaml');
  }
  files.set('plan.json', `${JSON.stringify(input.plan, null, 2)}\n`);
  files.set('plan.txt', renderPlan(input.plan));

  // A local chart is copied in, so the bundle replays on another machine too.
  let chart: RunJson['run']['chart'] = null;
  if (o.chart) {
    const skipped: string[] = [];
    cpSync(o.chart, join(dir, 'chart'), {
      recursive: true,
      filter: (src) => {
        if (basename(src) === '.git') return false;
        if (!looksLikeKeyFile(src)) return true;
        skipped.push(relative(o.chart as string, src));
        return false;
      },
    });
    chart = { original: o.chart, inBundle: 'chart', skipped };
  }

  const argv = replayArgv(o, { cwd, ...(chart ? { chartPath: rel(cwd, join(dir, 'chart')) } : {}) });
  const command = `npm run e2e -- ${shellJoin(argv)}`;
  const first = o.scenarios[0] as Scenario;
  const git = input.harness ?? gitState();
  const run: RunJson = {
    bundleVersion: BUNDLE_VERSION,
    createdAt: (input.now ?? new Date()).toISOString(),
    harness: { ...packageInfo(), ...git },
    run: {
      scenarios: o.scenarios.map(recorded),
      mode: first.mode,
      namespaces: { release: first.namespace, services: first.serviceNamespace },
      strict: o.scenarios.some((s) => s.strict),
      clusterName: o.clusterName,
      httpPort: o.httpPort,
      httpsPort: o.httpsPort,
      capture: o.capture,
      keep: o.keep,
      keepOnFailure: o.keepOnFailure,
      chart,
      direktivRef: chart ? null : (o.direktivRef ?? pins.direktivPin.ref),
      direktivRefGiven: o.direktivRef !== null,
      knativeImage: o.knativeImage,
      isolatedImage: o.isolatedImage,
      output: o.output,
    },
    failure: input.failure ?? null,
    seed: input.seed ?? null,
    versions: pinnedVersions(),
    pinsHash: pins.pinsHash(),
    images: { ...input.imageDigests },
    files: [],
    redactions: 0,
    replay: { argv, command, viaBundle: `npm run e2e -- --replay ${shellJoin([rel(cwd, dir)])}` },
  };

  files.set('README.md', readme(run, regenerated));
  const names = [...files.keys(), RUN_JSON, ...(chart ? ['chart/'] : [])].sort();
  for (const [name, text] of files) {
    const r = redactSecrets(text);
    redactions += r.removed;
    const p = join(dir, name);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, r.text);
  }
  run.files = names;
  // run.json quotes the failure message, which could quote anything: it is cut like the rest.
  const json = redactSecrets(JSON.stringify(run, null, 2));
  run.redactions = redactions + json.removed;
  await writeFile(join(dir, RUN_JSON), `${redactSecrets(JSON.stringify(run, null, 2)).text}\n`);
  return { dir, files: names, command };
}

function readme(r: RunJson, regenerated: string[]): string {
  const s = r.run.scenarios;
  const what = s
    .map((x) => (x.profile ? x.profile : `features ${x.features.join(',') || 'none'}`))
    .join(', ');
  const v = r.versions as {
    kindPin?: { version: string };
    nodeImagePin?: { image: string };
    certManagerPin?: { version: string };
    helmPin?: { version: string };
    kubectlPin?: { version: string };
    direktivPin?: { ref: string; commit: string };
  };
  const lines = [
    `# Reproduction bundle: ${what} (${r.run.mode})`,
    '',
    r.failure
      ? `The run failed${r.failure.step ? ` at step \`${r.failure.step}\`` : ''}: ${r.failure.message.split('\n')[0]}`
      : 'The run failed.',
    '',
    '## Replay',
    '',
    `From a checkout of the harness${r.harness.commit ? ` at commit \`${r.harness.commit}\`${r.harness.dirty ? ' (it had uncommitted changes)' : ''}` : ''}, with Docker running:`,
    '',
    '```sh',
    r.replay.command,
    '```',
    '',
    'The same, read from this folder (it also restores the seed):',
    '',
    '```sh',
    r.replay.viaBundle,
    '```',
    '',
    '## What ran',
    '',
    `- scenarios: ${s.map((x) => `${x.name} [${x.features.join(', ') || 'no TLS features'}]`).join('; ')}`,
    `- mode: ${r.run.mode}; strict: ${r.run.strict ? 'yes' : 'no'}`,
    `- namespaces: release \`${r.run.namespaces.release}\`, services \`${r.run.namespaces.services}\``,
    `- Direktiv chart: ${r.run.chart ? `local chart \`${r.run.chart.original}\` (copied to \`chart/\`)` : `git ref \`${r.run.direktivRef}\``}`,
    `- kind cluster \`${r.run.clusterName}\`, host ports ${r.run.httpPort} (http) and ${r.run.httpsPort} (https)`,
    `- seed: ${r.seed === null ? 'none (the run used no random names)' : `\`${r.seed}\``}`,
    '',
    '## Versions',
    '',
    '| pin | value |',
    '|---|---|',
    `| kind | ${v.kindPin?.version ?? '?'} |`,
    `| node image | \`${v.nodeImagePin?.image ?? '?'}\` |`,
    `| cert-manager | ${v.certManagerPin?.version ?? '?'} |`,
    `| helm / kubectl | ${v.helmPin?.version ?? '?'} / ${v.kubectlPin?.version ?? '?'} |`,
    `| Direktiv pin | ${v.direktivPin?.ref ?? '?'} (${v.direktivPin?.commit ?? '?'}) |`,
    `| pins hash | ${r.pinsHash} |`,
    '',
    'Every pin is in `run.json` (`versions`).',
    '',
    '## Images as resolved',
    '',
    ...(Object.keys(r.images).length
      ? [
          '| image | digest |',
          '|---|---|',
          ...Object.entries(r.images).map(([i, d]) => `| \`${i}\` | \`${d}\` |`),
        ]
      : ['No image was resolved before the failure.']),
    '',
    '## Files',
    '',
    '- `run.json`: everything above as data (`npm run e2e -- --replay` reads it)',
    "- `direktiv-values/<scenario>.yaml`: the values given to Direktiv's chart",
    '- `kind-cluster.yaml`: the kind cluster config',
    '- `plan.txt`, `plan.json`: the ordered plan of the run',
    ...(r.run.chart ? ['- `chart/`: the local chart the run installed (key files left out)'] : []),
    ...(regenerated.length
      ? [
          '',
          `Regenerated from the harness because the run stopped before writing them: ${regenerated.join(', ')}.`,
        ]
      : []),
    '',
    'No private key is in this folder: the certificates are issued in the cluster by cert-manager.',
  ];
  return `${lines.join('\n')}\n`;
}

export interface ReplayOptions extends E2eOptions {
  /** The bundle folder the options came from. */
  bundle: string;
  seed: string | null;
  recorded: RunJson;
}

/** A run.json is a few KB; a larger one is not a bundle (and must not fill the memory). */
const MAX_RUN_JSON_BYTES = 4 * 1024 * 1024;
const DAMAGED = 'the bundle is damaged; take it again from the run';

/** The fields of run.json that a replay reads, checked by type: a wrong one is named, never a crash. */
function checkRunJson(file: string, v: unknown): RunJson {
  const bad = (field: string, problem: string, hint = DAMAGED) =>
    new BadInputError(file, field, problem, hint);
  const isObject = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(v)) throw bad('(top level)', `expected an object, got ${kindOf(v)}`);
  if (v.bundleVersion !== BUNDLE_VERSION) {
    throw bad(
      'bundleVersion',
      `bundle version ${String(v.bundleVersion).slice(0, 40)} is not ${BUNDLE_VERSION}`,
      'replay it with the harness version that wrote it (run.json harness.commit)',
    );
  }
  const replay = v.replay;
  if (!isObject(replay)) throw bad('replay', `expected an object, got ${kindOf(replay)}`);
  if (!Array.isArray(replay.argv)) throw bad('replay.argv', `expected a list, got ${kindOf(replay.argv)}`);
  replay.argv.forEach((a, i) => {
    if (typeof a !== 'string') throw bad(`replay.argv[${i}]`, `expected a string, got ${kindOf(a)}`);
  });
  if (!isObject(v.run)) throw bad('run', `expected an object, got ${kindOf(v.run)}`);
  const chart = v.run.chart;
  if (chart !== null && chart !== undefined && !(isObject(chart) && typeof chart.inBundle === 'string')) {
    throw bad('run.chart', 'expected null or an object with inBundle (a path)');
  }
  if (v.seed !== null && v.seed !== undefined && typeof v.seed !== 'string') {
    throw bad('seed', `expected a string or null, got ${kindOf(v.seed)}`);
  }
  if (v.createdAt !== undefined && typeof v.createdAt !== 'string') {
    throw bad('createdAt', `expected a string, got ${kindOf(v.createdAt)}`);
  }
  return v as unknown as RunJson;
}

function kindOf(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? 'a list' : typeof x;
}

/** Reads `<dir>/run.json` back into e2e options (what `npm run e2e -- --replay <dir>` runs). */
export function readBundle(dir: string): ReplayOptions {
  const file = join(dir, RUN_JSON);
  if (!existsSync(file)) {
    throw new UsageError(
      `--replay ${dir}: no ${RUN_JSON} there`,
      'give the repro folder of a failed run, e.g. out/full-mtls/repro',
    );
  }
  let parsed: unknown;
  try {
    const size = statSync(file).size;
    if (size > MAX_RUN_JSON_BYTES)
      throw new Error(`${size} bytes, more than a bundle's ${MAX_RUN_JSON_BYTES}`);
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BadInputError(file, undefined, `not JSON (${(e as Error).message})`, DAMAGED);
  }
  const run = checkRunJson(file, parsed);
  const argv = [...run.replay.argv];
  // The copied chart is found beside run.json, wherever the bundle was moved to.
  const i = argv.indexOf('--chart');
  if (i >= 0 && run.run.chart) argv[i + 1] = resolve(dir, run.run.chart.inBundle);
  let opts: E2eOptions;
  try {
    opts = parseE2eArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    throw new BadInputError(file, 'replay.argv', e.message, e.hint);
  }
  return { ...opts, bundle: resolve(dir), seed: run.seed ?? null, recorded: run };
}

/** The files of a bundle folder, for tests and for the diagnostics index. */
export async function bundleFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}
