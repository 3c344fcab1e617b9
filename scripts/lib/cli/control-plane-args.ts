// `npm run control-plane` options: the e2e run's profile options, without kind's (cluster name,
// host ports, images, chart sources: nothing of those exists on the local control plane), plus
// --down (stop what a --keep left running) and --state-dir.
import { resolve } from 'node:path';
import { UsageError } from '../../../scenarios/errors.ts';
import { FEATURES } from '../../../scenarios/features.ts';
import { PROFILE_NAMES } from '../../../scenarios/profiles.ts';
import { parseCli } from './args.ts';
import { E2E_OPTIONS, type E2eOptions, parseE2eArgs } from './e2e-args.ts';

/** e2e flags that only mean something for kind. */
const KIND_ONLY = [
  'cluster-name',
  'http-port',
  'https-port',
  'chart',
  'direktiv-ref',
  'knative-image',
  'isolated-image',
  'replay',
] as const;

const { 'cluster-name': _c, 'http-port': _h, 'https-port': _s, chart: _ch, ...rest } = E2E_OPTIONS;
const {
  'direktiv-ref': _d,
  'knative-image': _k,
  'isolated-image': _i,
  replay: _r,
  ...shared
} = rest as Omit<typeof E2E_OPTIONS, 'cluster-name' | 'http-port' | 'https-port' | 'chart'>;

export const CONTROL_PLANE_OPTIONS = {
  ...shared,
  down: { type: 'boolean' },
  'state-dir': { type: 'string' },
} as const;

export interface ControlPlaneOptions extends E2eOptions {
  /** Stop everything a --keep left running, and check nothing is left behind. */
  down: boolean;
  stateDir: string | null;
}

export function parseControlPlaneArgs(argv: string[]): ControlPlaneOptions {
  for (const a of argv) {
    const flag = /^--([\w-]+)/.exec(a)?.[1];
    if (flag && (KIND_ONLY as readonly string[]).includes(flag)) {
      throw new UsageError(
        `--${flag} is a kind option; the control-plane run has no use for it`,
        'drop it (npm run control-plane -- --help lists the options), or use npm run e2e for kind',
      );
    }
  }
  const { values: v } = parseCli(argv, CONTROL_PLANE_OPTIONS);
  const down = Boolean(v.down);
  const stateDir = v['state-dir'] ? resolve(v['state-dir']) : null;
  const rest = argv.filter((a, i) => a !== '--down' && a !== '--state-dir' && argv[i - 1] !== '--state-dir');
  if (down) {
    const other = rest.filter((a) => a.startsWith('--'));
    if (other.length) {
      throw new UsageError(
        `--down takes no other option (got ${other.join(' ')})`,
        'npm run control-plane -- --down [--state-dir <dir>] stops what a --keep left running',
      );
    }
    return { ...parseE2eArgs(['--help']), help: Boolean(v.help), down, stateDir };
  }
  const opts = parseE2eArgs(rest.length ? rest : []);
  return { ...opts, down, stateDir };
}

export const CONTROL_PLANE_HELP = `Usage: npm run control-plane -- --profile <name> [options]
       npm run control-plane -- --down

Runs a profile without Docker: the same plan and step code as npm run e2e, on a real Kubernetes
control plane of local processes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
kwok v1.24.17, built once from the Go module proxy and cached) with the real cert-manager
issuing the profile's certificates. Direktiv v0.4.1 is not served by the Go module proxy (403), so
its chart and servers cannot run here and Envoy cannot be built: those steps are reported
blocked, and every path is served and called by the lab's stand-ins using the certificates
cert-manager issued (the report says so on every path).

What to run (exactly one):
  --profile <name>          one of: ${PROFILE_NAMES.join(', ')}
  --profiles <a,b|all>      several profiles on ONE control plane, switched in place
  --features <a,b>          a custom feature set: ${FEATURES.join(', ')}
  --down                    stop everything a --keep left running; report anything left behind

Profile settings:
  --mode <m>                corrected (default) or as-documented (the page verbatim)
  --namespace <ns>          Direktiv release namespace (default: default)
  --service-namespace <ns>  Knative services and pod functions (default: direktiv-services-direktiv)
  --ingress-host <host>     Ingress host and certificate SAN (default: direktiv.tls.test)
  --strict                  Knative httpProtocol Redirected (needs the services feature)

Run control:
  --dry-run                 print the ordered plan, with what is blocked and why; touch nothing
  --output <dir>            plan, values, rendered manifests; for a run also reports and pcaps
  --keep                    leave the control plane running; prints its kubeconfig
  --keep-on-failure         keep it only when something failed
  --state-dir <dir>         where the control plane keeps its state (default: ~/.cache/direktiv-tls-e2e/control-plane/state)
  --no-capture              skip the passive capture (tcpdump on lo)
  --allow-legacy-tls        TLS 1.0/1.1 accepted beside TLS 1.2+ is a warning

Reports:
  --json <file>  --junit <file>  --markdown <file>   (default: inside --output)

Exit codes: 0 every verdict holds and nothing was blocked, 1 a verdict or step failed (or teardown
failed), 2 bad input, 3 could not run (Go missing, a build failed, a port taken), 4 inconclusive:
the verdicts hold but steps were blocked (always the case while Direktiv's module is not served).
`;
