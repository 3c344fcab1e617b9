// `npm run chart-check -- --chart <dir>`: does a change to Direktiv's chart keep every TLS
// profile working? Renders the chart with each profile's values (helm template, no cluster) and
// checks mounts, ports, probes, annotations and ConfigMap entries against the chart model, side
// by side with the pinned chart. Exit codes: scripts/lib/cli/exit-codes.ts (README table).
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { direktivPin } from '../kind/versions.ts';
import {
  buildScenario,
  PROFILE_NAMES,
  parseProfileList,
  type Scenario,
  UsageError,
} from '../scenarios/index.ts';
import { type ChartUnderCheck, type CheckReport, chartCheck } from './lib/chart-check/check.ts';
import { FetchError, type FetchedChart, fetchDirektivChart } from './lib/chart-check/fetch.ts';
import { CHART_CHECK_OPTIONS } from './lib/chart-check/options.ts';
import { markdownReport, textReport } from './lib/chart-check/report.ts';
import { parseCli } from './lib/cli/args.ts';
import { runMain } from './lib/cli/main.ts';
import { resolveTool } from './lib/tools/fetch.ts';

export const CHART_CHECK_HELP = `Usage: npm run chart-check -- [--chart <dir> | --direktiv-ref <ref>] [options]

Renders Direktiv's Helm chart with every TLS profile's values (helm template, no cluster) and
reports, per profile, whether each component mounts the certificate Secrets at the paths the
code reads, exposes the ports the paths use, probes over HTTPS where it serves HTTPS, carries the
Contour and Ingress annotations, and writes the ConfigMap entries the profile needs. Each
requirement is shown beside the reference chart (default: the pinned chart, Direktiv
${direktivPin.ref}), so a regression stands out.

Chart under test (default: the pinned chart):
  --chart <dir>          a local chart directory (the one with Chart.yaml)
  --direktiv-ref <ref>   Direktiv's chart at another git ref, cloned into .cache/direktiv/<ref>

Reference:
  --against <dir>        compare with this chart directory instead of the pinned one
                         (the pinned chart is cloned from ${direktivPin.repository} once)

Scenarios:
  --profile <name>       one profile (${PROFILE_NAMES.join(', ')})
  --profiles <a,b|all>   several (default: all)
  --mode <m>             corrected (default) or as-documented (the page's values)
  --namespace <ns>       Direktiv's release namespace (default: default)

Output:
  --json                 print the report as JSON instead of text
  --markdown <file>      also write a Markdown summary (for $GITHUB_STEP_SUMMARY)
  -h, --help             this text

Exit codes: 0 every requirement holds, 1 a requirement fails or a render fails, 2 bad input,
3 the check cannot run (no helm, git or network to fetch a chart).
`;

export interface ChartCheckIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** The helm binary (tests: testHelm()); default: the pinned helm. */
  helm?: () => Promise<string>;
  /** Fetches a Direktiv ref's chart (tests: a local repository). */
  fetch?: (ref: string) => Promise<FetchedChart>;
  cwd?: string;
}

function chartDir(flag: string, dir: string, cwd: string): string {
  const abs = resolve(cwd, dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    throw new UsageError(
      `${flag} ${dir}: no such directory`,
      'give the chart directory (the one with Chart.yaml)',
    );
  }
  if (!existsSync(resolve(abs, 'Chart.yaml'))) {
    throw new UsageError(
      `${flag} ${dir}: not a Helm chart (no Chart.yaml)`,
      `Direktiv v0.4.x keeps its chart in ${direktivPin.charts.direktiv}; point at that folder`,
    );
  }
  return abs;
}

function scenariosOf(v: {
  profile?: string;
  profiles?: string;
  mode?: string;
  namespace?: string;
}): Scenario[] {
  if (v.profile !== undefined && v.profiles !== undefined) {
    throw new UsageError('--profile and --profiles conflict', 'give one profile or a list, not both');
  }
  const names = v.profile !== undefined ? [v.profile] : parseProfileList(v.profiles ?? 'all');
  return names.map((profile) => buildScenario({ profile, mode: v.mode, namespace: v.namespace }));
}

export async function chartCheckMain(argv: string[], io: ChartCheckIo): Promise<number> {
  const { values: v } = parseCli(argv, CHART_CHECK_OPTIONS);
  if (v.help) {
    io.out(CHART_CHECK_HELP);
    return 0;
  }
  const cwd = io.cwd ?? process.cwd();
  if (v.chart !== undefined && v['direktiv-ref'] !== undefined) {
    throw new UsageError('--chart and --direktiv-ref conflict', 'check a local chart OR a git ref');
  }
  const scenarios = scenariosOf(v);
  const mine = v.chart !== undefined ? chartDir('--chart', v.chart, cwd) : undefined;
  const theirs = v.against !== undefined ? chartDir('--against', v.against, cwd) : undefined;
  const fetch = io.fetch ?? ((ref: string) => fetchDirektivChart({ ref }));
  const fetchOrExplain = async (ref: string) => {
    try {
      return await fetch(ref);
    } catch (e) {
      if (e instanceof FetchError) return `${e.message}${e.hint ? ` (${e.hint})` : ''}`;
      throw e;
    }
  };
  // Relative to where the user stands, unless that is a climb out of it.
  const label = (dir: string) => {
    const r = relative(cwd, dir);
    return r === '' ? '.' : r.startsWith('..') ? dir : r;
  };

  let chart: ChartUnderCheck;
  const ref = v['direktiv-ref'];
  if (mine) chart = { label: label(mine), dir: mine };
  else {
    const want = ref ?? direktivPin.ref;
    // Without the chart under test there is nothing to check: the run cannot start (exit 3).
    const got = await fetch(want);
    chart = { label: `direktiv@${want} (${got.commit.slice(0, 12)})`, dir: got.chartDir };
  }

  let against: CheckReport['against'];
  if (theirs) against = { label: label(theirs), dir: theirs };
  else if (!mine && ref === undefined)
    against = null; // the pinned chart against itself
  else {
    const got = await fetchOrExplain(direktivPin.ref);
    against =
      typeof got === 'string'
        ? { label: `direktiv@${direktivPin.ref}`, unavailable: got }
        : { label: `direktiv@${direktivPin.ref} (pinned)`, dir: got.chartDir };
  }
  if (against && !('dir' in against)) io.err(`chart-check: no reference chart: ${against.unavailable}\n`);

  // The pinned helm: cached, on PATH at exactly that version, or downloaded and checksum-verified.
  const helm = await (
    io.helm ?? (async () => (await resolveTool('helm', { log: (l) => io.err(`${l}\n`) })).path)
  )();
  const report = await chartCheck({ helm, chart, against, scenarios });
  io.out(v.json ? `${JSON.stringify(report, null, 2)}\n` : textReport(report));
  if (v.markdown) {
    const file = resolve(cwd, v.markdown);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, markdownReport(report));
  }
  return report.ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  await runMain(() =>
    chartCheckMain(process.argv.slice(2), {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
    }),
  );
}
