// `npm run lab`: the assertion suite against real local servers arranged like a profile's
// Direktiv paths; prints the same report a cluster run prints. Exit codes as every command
// (scripts/lib/cli/exit-codes.ts): 0 every verdict holds, 1 one fails, 2 bad input, 3 the lab
// cannot run (no helm to render the profile chart, --capture with tcpdump missing or not
// permitted): the run did not happen, which must not read as "a path is unencrypted"; 4 the
// probes could not decide.
import { basename, dirname, extname, join } from 'node:path';
import { testHelmPin } from '../../../kind/versions.ts';
import {
  BadInputError,
  buildScenario,
  CouldNotRunError,
  MODES,
  PROFILE_NAMES,
  parseProfileList,
  type Scenario,
  UsageError,
} from '../../../scenarios/index.ts';
import { TcpdumpError } from '../capture/tcpdump.ts';
import { HelmError } from '../chart/helm.ts';
import { parseCli } from '../cli/args.ts';
import { exitCodeFor } from '../cli/exit-codes.ts';
import { reportError } from '../cli/main.ts';
import {
  outputFile,
  REPORT_OUTPUT_HELP,
  REPORT_OUTPUT_OPTIONS,
  reportOutputs,
  writeReportOutputs,
} from '../cli/output-options.ts';
import type { CliIo } from '../probe/cli.ts';
import { renderTerminal } from '../report/render.ts';
import { buildReport, type ProfileResult } from '../report/types.ts';
import type { LabCaptureOptions } from './capture.ts';
import { type HelmSource, labCertSpecs, labHelm } from './certs.ts';
import { runLab } from './lab.ts';
import { MUTATION_NAMES, resolveMutation } from './mutations.ts';

export const LAB_HELP = `Usage: npm run lab -- --profile <name> [options]

Runs the full assertion suite against a local lab: real TLS, gRPC and HTTP servers on 127.0.0.1
arranged like the Direktiv v0.4.1 paths of a profile, with certificates issued locally to the
profile's names, plus the real client of every path. Prints the report a cluster run prints.

  --profile <name>       ${PROFILE_NAMES.join(', ')}; a comma list; or all
  --features <list>      a custom feature set instead of --profile (ingress,upstream,grpc-tls,grpc-mtls,services)
  --mode <mode>          ${MODES.join(' | ')} (default corrected)
  --namespace <ns>       release namespace the names derive from (default default)
  --strict               internal Envoy port 80 only redirects (needs the services feature)
  --mutate <flaw>[@path] plant one flaw on one path (one profile only); flaws:
                         ${MUTATION_NAMES.join(', ')}
${REPORT_OUTPUT_HELP}  --capture              also record the real clients' traffic with tcpdump on loopback, classify
                         every flow and judge it per path (passive evidence, in the same report;
                         the probes run after the capture stops). Needs tcpdump, and root or
                         CAP_NET_RAW+CAP_NET_ADMIN on Linux
  --pcap <file>          keep the capture file (implies --capture); with several profiles each
                         gets its own file, <file> with -<profile> before the extension
  --timeout <ms>         deadline of every dial (default 3000)
  --help                 this text

Exit codes: 0 every verdict holds, 1 a verdict fails, 2 bad input, 3 the lab cannot run (no helm
to render the profile chart; --capture without tcpdump or without permission to capture),
4 the probes could not decide.
`;

const OPTIONS = {
  profile: { type: 'string' },
  features: { type: 'string' },
  mode: { type: 'string' },
  namespace: { type: 'string' },
  strict: { type: 'boolean' },
  mutate: { type: 'string' },
  ...REPORT_OUTPUT_OPTIONS,
  capture: { type: 'boolean' },
  pcap: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean' },
} as const;

function scenarios(values: {
  profile?: string;
  features?: string;
  mode?: string;
  namespace?: string;
  strict?: boolean;
}): Scenario[] {
  const common = { mode: values.mode, namespace: values.namespace };
  if (values.features !== undefined || values.profile === undefined) {
    return [
      buildScenario({ ...common, profile: values.profile, features: values.features, strict: values.strict }),
    ];
  }
  const names = parseProfileList(values.profile);
  if (names.length === 1) return [buildScenario({ ...common, profile: names[0], strict: values.strict })];
  // Several profiles: --strict concerns only those with Knative services.
  const list = names.map((p) => buildScenario({ ...common, profile: p }));
  if (values.strict) {
    if (!list.some((s) => s.features.includes('services'))) {
      throw new UsageError('--strict needs the services feature', 'include full-mtls in --profile');
    }
    return list.map((s) =>
      s.features.includes('services') ? buildScenario({ ...common, profile: s.name, strict: true }) : s,
    );
  }
  return list;
}

/** What tests inject: the helm that renders the profile chart (default helmForRendering()), capture knobs. */
export interface LabCliDeps {
  helm?: HelmSource;
  capture?: Omit<LabCaptureOptions, 'keepFile'>;
}

/** The --pcap file of one profile: the file itself, or <file>-<profile><ext> when several run. */
export function pcapFileFor(file: string, profile: string, several: boolean): string {
  if (!several) return file;
  const ext = extname(file);
  return join(dirname(file), `${basename(file, ext)}-${profile}${ext || '.pcap'}`);
}

/** tcpdump could not capture: the run cannot happen (exit 3), with how to get the capability. */
function captureFailure(e: TcpdumpError): CouldNotRunError {
  const hint =
    e.hint || 'check that tcpdump can capture on loopback: tcpdump -i lo -c 1 (as the user running the lab)';
  const lines = e.message.includes(hint) ? [] : [hint];
  lines.push('(or run without --capture: the active probes do not need tcpdump)');
  return new CouldNotRunError(`--capture: ${e.message}`, lines.join('\n  '));
}

export async function labCli(argv: string[], io: CliIo, deps: LabCliDeps = {}): Promise<number> {
  try {
    const { values } = parseCli(argv, OPTIONS);
    if (values.help) {
      io.stdout(LAB_HELP);
      return 0;
    }
    const list = scenarios(values);
    if (values.mutate && list.length > 1) {
      throw new UsageError('--mutate plants a flaw in one profile', 'give a single --profile with --mutate');
    }
    // Validate the mutation before any server starts.
    if (values.mutate) resolveMutation(values.mutate, list[0]!);
    const reports = reportOutputs(values);
    const files = { pcap: outputFile('pcap', values.pcap) };
    const capture = values.capture || files.pcap !== undefined;
    const timeoutMs = values.timeout ? Number(values.timeout) : undefined;
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000)) {
      throw new UsageError(
        `--timeout must be milliseconds 1-600000 (got '${values.timeout}')`,
        'e.g. --timeout 3000',
      );
    }
    // The certificates come from the profile chart: render every scenario's before any lab
    // starts (cached for the runs), so a missing helm is said at once, not as a failed verdict.
    let helm: string;
    try {
      helm = await labHelm(deps.helm);
      for (const s of list) await labCertSpecs(s, { helm });
    } catch (e) {
      const what = `the lab issues its certificates from the profile chart (charts/direktiv-tls-profile) and cannot render it: ${(e as Error).message}`;
      // helm ran and the chart refused the values (bad input), or there is no helm to run (3).
      if (e instanceof HelmError) {
        throw new BadInputError(
          'charts/direktiv-tls-profile',
          'values',
          what,
          'the chart refused these values: check --features/--namespace, or run npm run chart-check',
        );
      }
      throw new CouldNotRunError(
        what,
        `fetch the pinned helm (npm run tools -- fetch helm) or put helm ${testHelmPin.helmVersion} on PATH`,
      );
    }
    const results: ProfileResult[] = [];
    // One profile at a time: each lab is already parallel inside, and 2 cores are the norm.
    for (const s of list) {
      const pcap = files.pcap ? pcapFileFor(files.pcap, s.name, list.length > 1) : undefined;
      results.push(
        await runLab(s, {
          helm,
          ...(capture ? { capture: { ...deps.capture, ...(pcap ? { keepFile: pcap } : {}) } } : {}),
          ...(values.mutate ? { mutate: values.mutate } : {}),
          ...(timeoutMs ? { timeoutMs } : {}),
        }),
      );
    }
    const report = buildReport(results);
    io.stdout(renderTerminal(report));
    await writeReportOutputs(report, reports);
    return exitCodeFor(report);
  } catch (e) {
    return reportError(e instanceof TcpdumpError ? captureFailure(e) : e, io.stderr);
  }
}
