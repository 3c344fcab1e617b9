// `npm run e2e` options: parsed and validated up front, so a typo costs a second, not a cluster.
import { resolve } from 'node:path';
import { UsageError } from '../../../scenarios/errors.ts';
import { buildScenario, type Scenario } from '../../../scenarios/index.ts';
import { PROFILES, parseProfileList } from '../../../scenarios/profiles.ts';
import { parseCli, parsePort } from './args.ts';
import { REPORT_OUTPUT_OPTIONS } from './output-options.ts';

export const E2E_OPTIONS = {
  profile: { type: 'string' },
  profiles: { type: 'string' },
  features: { type: 'string' },
  mode: { type: 'string' },
  namespace: { type: 'string' },
  'service-namespace': { type: 'string' },
  'ingress-host': { type: 'string' },
  strict: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  output: { type: 'string' },
  keep: { type: 'boolean' },
  'keep-on-failure': { type: 'boolean' },
  'cluster-name': { type: 'string' },
  'http-port': { type: 'string' },
  'https-port': { type: 'string' },
  chart: { type: 'string' },
  'direktiv-ref': { type: 'string' },
  'knative-image': { type: 'string' },
  'isolated-image': { type: 'string' },
  images: { type: 'string' },
  'no-capture': { type: 'boolean' },
  'allow-legacy-tls': { type: 'boolean' },
  ...REPORT_OUTPUT_OPTIONS,
  replay: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface E2eOptions {
  scenarios: Scenario[];
  dryRun: boolean;
  output: string | null;
  keep: boolean;
  keepOnFailure: boolean;
  clusterName: string;
  httpPort: number;
  httpsPort: number;
  /** Install Direktiv from this local chart directory instead of the pinned git ref. */
  chart: string | null;
  direktivRef: string | null;
  knativeImage: string | null;
  isolatedImage: string | null;
  /**
   * Where Direktiv's own images come from: `upstream` pulls the 2021 vorteil/* images; `built`
   * builds them (npm run images) and serves them from a local registry the node mirrors docker.io to.
   */
  images: 'upstream' | 'built';
  capture: boolean;
  /** TLS 1.0/1.1 accepted is a warning instead of a failure. */
  allowLegacyTls: boolean;
  json: string | null;
  junit: string | null;
  markdown: string | null;
  /** The self-contained HTML report (default: report.html inside --output). */
  html: string | null;
  replay: string | null;
  help: boolean;
  /** The flags as given, for the reproduction bundle's replay command. */
  argv: string[];
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/;
const GIT_REF = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;
const IMAGE_REF = /^[a-z0-9][a-z0-9._\-/:@]*[a-zA-Z0-9]$/;

function parseImagesMode(v: string | undefined): 'upstream' | 'built' {
  if (v === undefined || v === 'upstream') return 'upstream';
  if (v === 'built') return 'built';
  throw new UsageError(`--images must be upstream or built (got '${v}')`, 'e.g. --images upstream');
}

export function parseE2eArgs(argv: string[]): E2eOptions {
  const { values: v } = parseCli(argv, E2E_OPTIONS);
  const base = {
    dryRun: Boolean(v['dry-run']),
    output: v.output ? resolve(v.output) : null,
    keep: Boolean(v.keep),
    keepOnFailure: Boolean(v['keep-on-failure']),
    clusterName: v['cluster-name'] ?? 'direktiv-tls',
    httpPort: v['http-port'] ? parsePort('http-port', v['http-port']) : 18080,
    httpsPort: v['https-port'] ? parsePort('https-port', v['https-port']) : 18443,
    chart: v.chart ? resolve(v.chart) : null,
    direktivRef: v['direktiv-ref'] ?? null,
    knativeImage: v['knative-image'] ?? null,
    isolatedImage: v['isolated-image'] ?? null,
    images: parseImagesMode(v.images),
    capture: !v['no-capture'],
    allowLegacyTls: Boolean(v['allow-legacy-tls']),
    json: v.json ? resolve(v.json) : null,
    junit: v.junit ? resolve(v.junit) : null,
    markdown: v.markdown ? resolve(v.markdown) : null,
    html: v.html ? resolve(v.html) : null,
    replay: v.replay ? resolve(v.replay) : null,
    help: Boolean(v.help),
    argv,
  };
  if (base.help) return { ...base, scenarios: [] };
  if (base.replay) return { ...base, scenarios: [] };
  if (!CLUSTER_NAME.test(base.clusterName)) {
    throw new UsageError(
      `malformed --cluster-name '${base.clusterName}'`,
      'lower-case letters, digits and -, at most 32 characters (it names Docker containers)',
    );
  }
  if (base.httpPort === base.httpsPort) {
    throw new UsageError('--http-port and --https-port are the same port', 'give two different host ports');
  }
  if (base.chart && base.direktivRef) {
    throw new UsageError(
      '--chart and --direktiv-ref conflict',
      'install Direktiv from a local chart OR from a git ref',
    );
  }
  if (base.direktivRef && !GIT_REF.test(base.direktivRef)) {
    throw new UsageError(
      `malformed --direktiv-ref '${base.direktivRef}'`,
      'give a git tag, branch or commit, e.g. v0.4.1',
    );
  }
  for (const [flag, img] of [
    ['knative-image', base.knativeImage],
    ['isolated-image', base.isolatedImage],
  ] as const) {
    if (img && !IMAGE_REF.test(img)) {
      throw new UsageError(
        `malformed --${flag} '${img}'`,
        'give an image reference such as ghcr.io/org/echo:1.0',
      );
    }
  }
  if (base.keep && base.keepOnFailure) {
    throw new UsageError(
      '--keep and --keep-on-failure conflict',
      '--keep keeps the cluster always; pick one',
    );
  }
  const chosen = [v.profile, v.profiles, v.features].filter((x) => x !== undefined).length;
  if (chosen === 0) {
    throw new UsageError(
      'missing value: --profile, --profiles or --features',
      'e.g. npm run e2e -- --profile full-mtls (or --profiles all, or --features ingress,services)',
    );
  }
  if (chosen > 1) {
    throw new UsageError('--profile, --profiles and --features conflict', 'give exactly one of them');
  }
  const common = {
    mode: v.mode,
    namespace: v.namespace,
    serviceNamespace: v['service-namespace'],
    ingressHost: v['ingress-host'],
    strict: Boolean(v.strict),
  };
  const scenarios = v.profiles
    ? // --strict only concerns profiles with the services feature; the others ignore it.
      parseProfileList(v.profiles).map((p) =>
        buildScenario({
          ...common,
          profile: p,
          strict: common.strict && PROFILES[p].features.includes('services'),
        }),
      )
    : [buildScenario({ ...common, profile: v.profile, features: v.features })];
  return { ...base, scenarios };
}
