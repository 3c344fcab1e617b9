// The cluster: create it from kind/, or reuse one this harness created with the same pins (a
// marker file, as cert-manager's e2e keeps its own state), always through its own kubeconfig
// file under .e2e/<cluster>/ so the user's default context is never read or changed.
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kindPin, nodeImagePin, pinsHash } from '../../../kind/versions.ts';
import { projectRoot } from '../tools/fsutil.ts';
import { firstLines, type Runner } from '../tools/runner.ts';
import { PreflightError } from './errors.ts';

export const harnessName = 'direktiv-tls-e2e';

export function harnessVersion(): string {
  try {
    return String(
      (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version?: string }).version,
    );
  } catch {
    return 'unknown';
  }
}

export interface ClusterPaths {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly marker: string;
  readonly kindConfig: string;
}

export function clusterPaths(cluster: string, e2eRoot: string = join(projectRoot, '.e2e')): ClusterPaths {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(cluster) || cluster.length > 50) {
    throw new PreflightError(
      'cluster',
      `'${cluster}' is not a usable kind cluster name.`,
      'Use lower-case letters, digits and dashes (it becomes a container and DNS name).',
    );
  }
  const dir = join(e2eRoot, cluster);
  return {
    dir,
    kubeconfig: join(dir, 'kubeconfig'),
    marker: join(dir, 'marker.json'),
    kindConfig: join(dir, 'kind-config.yaml'),
  };
}

export interface ClusterMarker {
  readonly harness: string;
  readonly harnessVersion: string;
  readonly cluster: string;
  /** pinsHash() of kind/versions.ts when the cluster was created. */
  readonly pinsHash: string;
  readonly kind: string;
  readonly nodeImage: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly createdAt: string;
}

export function newMarker(
  cluster: string,
  ports: { httpPort: number; httpsPort: number },
  shape: { pinsHash?: string; nodeImage?: string } = {},
): ClusterMarker {
  return {
    harness: harnessName,
    harnessVersion: harnessVersion(),
    cluster,
    pinsHash: shape.pinsHash ?? pinsHash(),
    kind: kindPin.version,
    nodeImage: shape.nodeImage ?? nodeImagePin.image,
    httpPort: ports.httpPort,
    httpsPort: ports.httpsPort,
    createdAt: new Date().toISOString(),
  };
}

export async function readMarker(paths: ClusterPaths): Promise<ClusterMarker | undefined> {
  try {
    const m = JSON.parse(await readFile(paths.marker, 'utf8')) as ClusterMarker;
    return m.harness === harnessName ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Written right after `kind create cluster` succeeds. */
export async function writeMarker(paths: ClusterPaths, marker: ClusterMarker): Promise<void> {
  await mkdir(paths.dir, { recursive: true });
  const tmp = `${paths.marker}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(marker, null, 2)}\n`);
  await rename(tmp, paths.marker);
}

export async function removeMarker(paths: ClusterPaths): Promise<void> {
  await rm(paths.marker, { force: true });
}

export async function kindClusters(runner: Runner, kind: string): Promise<string[]> {
  const r = await runner(kind, ['get', 'clusters'], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) {
    throw new PreflightError(
      'cluster',
      `\`${kind} get clusters\` failed: ${firstLines(r.stderr)}`,
      'Is Docker running?',
    );
  }
  // "No kind clusters found." goes to stderr; stdout holds one name per line.
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export type ClusterDecision =
  | { readonly action: 'create'; readonly reason: string; readonly paths: ClusterPaths }
  | {
      readonly action: 'reuse';
      readonly reason: string;
      readonly paths: ClusterPaths;
      readonly marker: ClusterMarker;
    };

export interface DecideOptions {
  readonly cluster: string;
  readonly kind: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly e2eRoot?: string;
  /** Defaults to pinsHash() of the current pins. */
  readonly pinsHash?: string;
}

/**
 * Create or reuse. Reuses only a cluster that the marker says this harness created with the same
 * pins and host ports; refuses to touch a same-named cluster it did not create.
 */
export async function decideCluster(runner: Runner, o: DecideOptions): Promise<ClusterDecision> {
  const paths = clusterPaths(o.cluster, o.e2eRoot);
  const exists = (await kindClusters(runner, o.kind)).includes(o.cluster);
  const marker = await readMarker(paths);
  const want = o.pinsHash ?? pinsHash();
  const deleteCmd = `${o.kind} delete cluster --name ${o.cluster} --kubeconfig ${paths.kubeconfig}`;
  if (!exists) {
    if (marker) await removeMarker(paths);
    return {
      action: 'create',
      reason: marker
        ? `the marked cluster ${o.cluster} no longer exists; creating it again`
        : `no cluster named ${o.cluster}`,
      paths,
    };
  }
  if (!marker) {
    throw new PreflightError(
      'cluster',
      `a kind cluster named ${o.cluster} exists but this harness did not create it (no marker at ${paths.marker}).`,
      `Delete it if it is disposable (${deleteCmd}) or choose another cluster name.`,
    );
  }
  if (marker.pinsHash !== want) {
    throw new PreflightError(
      'cluster',
      `cluster ${o.cluster} was created by harness ${marker.harnessVersion} with other pins (hash ${marker.pinsHash}, now ${want}: kind/versions.ts changed).`,
      `Delete it so it is created again with the current pins: ${deleteCmd}`,
    );
  }
  if (marker.httpPort !== o.httpPort || marker.httpsPort !== o.httpsPort) {
    throw new PreflightError(
      'cluster',
      `cluster ${o.cluster} maps host ports ${marker.httpPort}/${marker.httpsPort}; this run asks for ${o.httpPort}/${o.httpsPort}.`,
      `Run with --http-port ${marker.httpPort} --https-port ${marker.httpsPort}, or delete it: ${deleteCmd}`,
    );
  }
  const node = `${o.cluster}-control-plane`;
  const st = await runner('docker', ['inspect', '--format', '{{.State.Running}}', node], {
    timeoutMs: 30_000,
  });
  if (st.exitCode !== 0 || st.stdout.trim() !== 'true') {
    throw new PreflightError(
      'cluster',
      `cluster ${o.cluster} exists but its node container ${node} is not running.`,
      `Start it (docker start ${node}) or delete the cluster: ${deleteCmd}`,
    );
  }
  return {
    action: 'reuse',
    reason: `reusing ${o.cluster}, created by this harness on ${marker.createdAt} with the same pins`,
    paths,
    marker,
  };
}

/** `kind create cluster` writing ONLY the cluster's own kubeconfig file. */
export function createClusterArgs(cluster: string, paths: ClusterPaths, waitSeconds = 120): string[] {
  return [
    'create',
    'cluster',
    '--name',
    cluster,
    '--config',
    paths.kindConfig,
    '--kubeconfig',
    paths.kubeconfig,
    '--wait',
    `${waitSeconds}s`,
  ];
}

export function deleteClusterArgs(cluster: string, paths: ClusterPaths): string[] {
  return ['delete', 'cluster', '--name', cluster, '--kubeconfig', paths.kubeconfig];
}

/** Rewrites the cluster's kubeconfig from kind (for a reused cluster), mode 0600. */
export async function exportKubeconfig(
  runner: Runner,
  kind: string,
  cluster: string,
  paths: ClusterPaths,
): Promise<string> {
  const r = await runner(kind, ['get', 'kubeconfig', '--name', cluster], { timeoutMs: 30_000 });
  if (r.exitCode !== 0 || !r.stdout.includes('apiVersion')) {
    throw new PreflightError(
      'cluster',
      `cannot get the kubeconfig of ${cluster}: ${firstLines(r.stderr) || 'empty output'}`,
      `Check \`${kind} get clusters\`.`,
    );
  }
  await mkdir(paths.dir, { recursive: true });
  await writeFile(paths.kubeconfig, r.stdout, { mode: 0o600 });
  await chmod(paths.kubeconfig, 0o600);
  return paths.kubeconfig;
}

/**
 * Environment for every kubectl/helm the harness runs: its own kubeconfig only, and helm's state
 * (repositories, cache) kept out of the user's too.
 */
export function kubeEnv(paths: ClusterPaths): Record<string, string> {
  return {
    KUBECONFIG: paths.kubeconfig,
    HELM_CACHE_HOME: join(paths.dir, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(paths.dir, 'helm', 'config'),
    HELM_DATA_HOME: join(paths.dir, 'helm', 'data'),
  };
}

/** What a failed `kind create cluster` usually means, and what to do. */
export function explainKindCreateFailure(
  stderr: string,
  o: { cluster: string; httpPort: number; httpsPort: number },
): string {
  const s = stderr.toLowerCase();
  if (s.includes('ip6tables')) {
    // kind v0.22 creates its docker network with IPv6; hosts without the ip6tables nat table
    // (some WSL, Codespaces, DinD) fail (kind#3677; kind v0.25 added an IPv4 fallback).
    return (
      'Docker cannot create the IPv6-enabled "kind" network here. Create it IPv4-only first: ' +
      'docker network create -d=bridge -o com.docker.network.bridge.enable_ip_masquerade=true ' +
      '-o com.docker.network.driver.mtu=1500 kind   (then run again)'
    );
  }
  if (s.includes('port is already allocated') || s.includes('address already in use')) {
    return `A host port is taken (${o.httpPort}/${o.httpsPort}): choose others with --http-port/--https-port.`;
  }
  if (s.includes('already exist')) {
    return `A cluster or container named ${o.cluster} already exists: delete it (kind delete cluster --name ${o.cluster}) or choose another name.`;
  }
  if (s.includes('cgroup')) {
    return 'The node could not start its cgroups: the pinned node image needs Docker >= 20.10 and a cgroup v2 host or kind-built images >= v0.20 (see kind known issues).';
  }
  return "See kind's known issues (https://kind.sigs.k8s.io/docs/user/known-issues/); run again with the same command to see the full output.";
}

export interface CreateClusterOptions {
  readonly kind: string;
  readonly cluster: string;
  readonly paths: ClusterPaths;
  /** The kind Cluster config (kind/cluster.ts kindClusterYaml). */
  readonly configYaml: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** registry mirrors written into the node right after creation (kind/cluster.ts). */
  readonly mirrorCommands?: readonly { cmd: string; args: readonly string[]; input?: string }[];
  readonly waitSeconds?: number;
  /** The cluster's shape hash (pins plus node-image and mirror overrides); default pinsHash(). */
  readonly pinsHash?: string;
  readonly nodeImage?: string;
}

/** kind create cluster (own kubeconfig), registry mirrors, then the marker. */
export async function createCluster(runner: Runner, o: CreateClusterOptions): Promise<string> {
  await mkdir(o.paths.dir, { recursive: true });
  await writeFile(o.paths.kindConfig, o.configYaml);
  const args = createClusterArgs(o.cluster, o.paths, o.waitSeconds);
  const r = await runner(o.kind, args, { timeoutMs: 15 * 60_000 });
  if (r.exitCode !== 0) {
    throw new PreflightError(
      'cluster',
      `kind could not create cluster ${o.cluster}: ${firstLines(r.stderr, 4) || `exit ${r.exitCode}`}`,
      explainKindCreateFailure(r.stderr, o),
    );
  }
  for (const c of o.mirrorCommands ?? []) {
    const m = await runner(c.cmd, c.args, {
      timeoutMs: 60_000,
      ...(c.input !== undefined ? { input: c.input } : {}),
    });
    if (m.exitCode !== 0) {
      throw new PreflightError(
        'cluster',
        `cannot install the registry mirror config in the node: ${firstLines(m.stderr)}`,
        'Check registryMirrors in kind/images.yaml.',
      );
    }
  }
  await writeMarker(
    o.paths,
    newMarker(o.cluster, o, {
      ...(o.pinsHash ? { pinsHash: o.pinsHash } : {}),
      ...(o.nodeImage ? { nodeImage: o.nodeImage } : {}),
    }),
  );
  return o.paths.kubeconfig;
}

/** Decide, then create or (for a reused cluster) refresh its kubeconfig. Returns the decision. */
export async function ensureCluster(
  runner: Runner,
  o: Omit<CreateClusterOptions, 'paths'> & { readonly e2eRoot?: string },
): Promise<ClusterDecision> {
  const d = await decideCluster(runner, {
    cluster: o.cluster,
    kind: o.kind,
    httpPort: o.httpPort,
    httpsPort: o.httpsPort,
    ...(o.e2eRoot ? { e2eRoot: o.e2eRoot } : {}),
  });
  if (d.action === 'create') await createCluster(runner, { ...o, paths: d.paths });
  else await exportKubeconfig(runner, o.kind, o.cluster, d.paths);
  return d;
}
