// Docker: reachable, new enough for the pinned kind, enough memory, and which image store it uses.
import { kindPin } from '../../../kind/versions.ts';
import { firstLines, type Runner } from '../tools/runner.ts';
import { PreflightError } from './errors.ts';

export const GiB = 1024 ** 3;
/** cert-manager, two Contours, Knative, Direktiv, Postgres and the functions on one node. */
export const defaultMinMemoryBytes = 6 * GiB;

export interface DockerInfo {
  readonly serverVersion: string;
  readonly memTotalBytes: number;
  readonly cpus: number;
  readonly operatingSystem: string;
  readonly architecture: string;
  readonly cgroupVersion: string;
  /** Docker's containerd image store is on: `kind load docker-image` fails (kind#3795). */
  readonly containerdImageStore: boolean;
  readonly rootless: boolean;
}

const noDockerHint =
  'Start Docker, or use --dry-run to see the plan, or `npm run lab` to run the assertion suite without a cluster.';
const installDocker =
  'Install Docker Engine (https://docs.docker.com/engine/install/; Debian/Ubuntu: apt-get install docker.io) or Docker Desktop.';

/** `docker info` as the harness needs it; throws a PreflightError when Docker cannot be used. */
export async function checkDocker(runner: Runner): Promise<DockerInfo> {
  const r = await runner('docker', ['info', '--format', '{{json .}}'], { timeoutMs: 30_000 });
  if (r.notFound) {
    throw new PreflightError(
      'docker',
      'Docker is not installed (no `docker` on PATH).',
      `${installDocker} ${noDockerHint}`,
    );
  }
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(r.stdout.trim() || '{}') as Record<string, unknown>;
  } catch {
    // Older CLIs print nothing useful on failure; stderr says why.
  }
  const serverErrors = Array.isArray(raw.ServerErrors) ? (raw.ServerErrors as string[]) : [];
  if (r.exitCode !== 0 || serverErrors.length > 0 || !raw.ServerVersion) {
    const why = firstLines([r.stderr, ...serverErrors].join('\n')) || `docker info exited with ${r.exitCode}`;
    throw new PreflightError(
      'docker',
      `Docker is not reachable: ${why}${/[.?!]$/.test(why) ? '' : '.'}`,
      noDockerHint,
    );
  }
  return parseDockerInfo(raw);
}

export function parseDockerInfo(raw: Record<string, unknown>): DockerInfo {
  const driverStatus = Array.isArray(raw.DriverStatus) ? (raw.DriverStatus as unknown[][]) : [];
  // With the containerd image store `docker info` reports driver-type io.containerd.snapshotter.v1
  // (moby#46757; buildpacks/imgutil#231 detects it the same way).
  const containerdImageStore = driverStatus.some(
    (kv) =>
      Array.isArray(kv) && kv[0] === 'driver-type' && String(kv[1]).startsWith('io.containerd.snapshotter'),
  );
  const securityOptions = Array.isArray(raw.SecurityOptions) ? (raw.SecurityOptions as string[]) : [];
  return {
    serverVersion: String(raw.ServerVersion ?? ''),
    memTotalBytes: Number(raw.MemTotal ?? 0),
    cpus: Number(raw.NCPU ?? 0),
    operatingSystem: String(raw.OperatingSystem ?? ''),
    architecture: String(raw.Architecture ?? ''),
    cgroupVersion: String(raw.CgroupVersion ?? ''),
    containerdImageStore,
    rootless: securityOptions.some((o) => o.includes('name=rootless')),
  };
}

/** kind >= v0.20 needs Docker >= 20.10 (kind v0.20.0 release notes). */
export function checkDockerVersion(info: DockerInfo, min: readonly [number, number] = [20, 10]): void {
  const m = /^(\d+)\.(\d+)/.exec(info.serverVersion);
  if (!m) return; // unknown format (e.g. a Podman shim): let kind decide
  const [maj, min_] = [Number(m[1]), Number(m[2])];
  if (maj < min[0] || (maj === min[0] && min_ < min[1])) {
    throw new PreflightError(
      'docker',
      `Docker ${info.serverVersion} is too old: kind ${kindPin.version} needs Docker ${min.join('.')} or newer.`,
      'Upgrade Docker.',
    );
  }
}

export function checkMemory(info: DockerInfo, minBytes: number = defaultMinMemoryBytes): void {
  if (info.memTotalBytes >= minBytes) return;
  const have = (info.memTotalBytes / GiB).toFixed(1);
  const need = (minBytes / GiB).toFixed(minBytes % GiB === 0 ? 0 : 1);
  throw new PreflightError(
    'memory',
    `Docker has ${have} GiB of memory; a run needs at least ${need} GiB (one kind node runs cert-manager, two Contours, Knative, Direktiv and Postgres).`,
    'Give Docker more memory (Docker Desktop: Settings → Resources → Memory; Colima: colima start --memory 8), ' +
      'or close other containers and run on a larger machine.',
  );
}

/** Major version of the Docker server (0 when unknown). */
export function dockerMajor(info: DockerInfo): number {
  return Number(/^(\d+)/.exec(info.serverVersion)?.[1] ?? 0);
}
