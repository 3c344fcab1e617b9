// Preflight for a real run, in order: Docker reachable and new enough, the tools, the cluster
// (create or reuse), the host ports, Docker's memory, then every image pulled once. Problems that
// can be found together are reported together; Docker being down stops at once.
import type { ImageOverrides } from '../../../kind/images.ts';
import { loadImageOverrides } from '../../../kind/images.ts';
import type { ToolOptions } from '../tools/fetch.ts';
import { execaRunner, type Runner } from '../tools/runner.ts';
import { type ClusterDecision, decideCluster } from './cluster.ts';
import {
  checkDocker,
  checkDockerVersion,
  checkMemory,
  type DockerInfo,
  defaultMinMemoryBytes,
} from './docker.ts';
import { PreflightError, PreflightErrors } from './errors.ts';
import { type ImageToPull, imagesToPull, type PullReport, pullImages } from './images.ts';
import { checkHostPorts, ingressPorts } from './ports.ts';
import { checkTools, type ToolPaths } from './tools.ts';

export { execaRunner, type Runner } from '../tools/runner.ts';
export * from './cluster.ts';
export * from './docker.ts';
export * from './errors.ts';
export * from './images.ts';
export * from './ports.ts';
export * from './tools.ts';

export interface PreflightOptions {
  readonly runner?: Runner;
  readonly cluster: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly minMemoryBytes?: number;
  readonly tools?: ToolOptions;
  /** Image overrides (default: kind/images.yaml). */
  readonly overrides?: ImageOverrides;
  /** References rendered from the charts plus the run's own (function images). */
  readonly images?: readonly (string | ImageToPull)[];
  /** false: list the images but do not pull (the plan). */
  readonly pull?: boolean;
  readonly e2eRoot?: string;
  readonly log?: (line: string) => void;
}

export interface PreflightResult {
  readonly docker: DockerInfo;
  readonly tools: ToolPaths;
  readonly cluster: ClusterDecision;
  readonly images: readonly ImageToPull[];
  readonly pulled?: PullReport;
}

export async function runPreflight(o: PreflightOptions): Promise<PreflightResult> {
  const runner = o.runner ?? execaRunner;
  const log = o.log ?? (() => {});
  const problems: PreflightError[] = [];
  const collect = (e: unknown) => {
    if (e instanceof PreflightErrors) problems.push(...e.problems);
    else if (e instanceof PreflightError) problems.push(e);
    else throw e;
  };

  let docker: DockerInfo;
  try {
    docker = await checkDocker(runner);
    checkDockerVersion(docker);
  } catch (e) {
    if (e instanceof PreflightError) throw new PreflightErrors([e]);
    throw e;
  }
  log(
    `docker ${docker.serverVersion}, ${(docker.memTotalBytes / 1024 ** 3).toFixed(1)} GiB${docker.containerdImageStore ? ', containerd image store' : ''}`,
  );

  let tools: ToolPaths | undefined;
  try {
    tools = await checkTools({ ...o.tools, log: o.tools?.log ?? log, runner: o.tools?.runner ?? runner });
  } catch (e) {
    collect(e);
  }

  let cluster: ClusterDecision | undefined;
  if (tools) {
    try {
      cluster = await decideCluster(runner, {
        cluster: o.cluster,
        kind: tools.kind.path,
        httpPort: o.httpPort,
        httpsPort: o.httpsPort,
        ...(o.e2eRoot ? { e2eRoot: o.e2eRoot } : {}),
      });
      log(cluster.reason);
    } catch (e) {
      collect(e);
    }
  }

  // A reused cluster holds its own host ports; only a new one needs them free.
  if (!cluster || cluster.action === 'create')
    problems.push(...(await checkHostPorts(ingressPorts(o.httpPort, o.httpsPort))));

  try {
    checkMemory(docker, o.minMemoryBytes ?? defaultMinMemoryBytes);
  } catch (e) {
    collect(e);
  }

  const overrides = o.overrides ?? loadImageOverrides();
  const images = imagesToPull(overrides, o.images ?? []);
  if (problems.length > 0 || !tools || !cluster) throw new PreflightErrors(problems);

  let pulled: PullReport | undefined;
  if (o.pull !== false) pulled = await pullImages(runner, images, { log });
  return { docker, tools, cluster, images, ...(pulled ? { pulled } : {}) };
}
