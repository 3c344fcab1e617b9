// The cluster is one seam: kind and the local control plane are two drivers behind this interface,
// and step code does not know which one it runs on. A driver owns what differs between them: its
// own preflight and cluster steps (Docker and kind, or Go-built processes), where cert-manager's
// objects come from and whether its controllers run in the cluster or beside it, how the host
// reaches a path's server (a port-forward, or a loopback address), how the traffic is captured
// (tcpdump in a node pod, or on lo), what is left running when a run is kept, and which programs
// (with versions and sources) the run used.
import type { PathId } from '../../../scenarios/index.ts';
import type { Component } from '../control-plane/index.ts';
import type { PassivePathEvidence } from '../evidence/types.ts';
import type { KubeObject } from '../k8s/types.ts';
import type { ProbeTarget } from '../probe/types.ts';
import type { CaptureSummary } from '../report/types.ts';
import type { ClusterTarget } from '../run/cluster-targets.ts';
import type { Action, RunContext, ScenarioRun } from '../run/context.ts';
import type { StepContext } from '../run/executor.ts';

/** A program the run used: name, version and where it came from (one type for every driver). */
export type { Component };

/** A path's server as the host reaches it, for the probe; close() releases what reach() opened. */
export interface Reached {
  target: ProbeTarget;
  close(): void;
}

/** A running capture of the paths' traffic. */
export interface RunningCapture {
  /** One line for the progress: where it listens. */
  readonly listening: string;
  /** Stops it and turns the packets into per-path passive evidence. */
  stop(s: StepContext): Promise<{
    passive: Partial<Record<PathId, PassivePathEvidence>>;
    summary: CaptureSummary;
    line: string;
  }>;
  /** What cleanup removes, in words (the cleanup's title). */
  readonly cleanupTitle: string;
  /** Removes what start created (a pod, a scratch folder); safe after stop. */
  cleanup(): Promise<void>;
}

export interface ClusterDriver {
  /** `kind` or `control-plane`: for headers, bundles and messages, never for branching steps. */
  readonly name: string;
  /** The driver's own plan steps (preflight.*, cluster.*), keyed like the shared actions. */
  readonly actions: Readonly<Record<string, Action>>;
  /** Before any file is written: can this machine run the driver at all (Docker, Go)? Throws a PreflightError. */
  precheck(ctx: RunContext): Promise<void>;
  /** cert-manager's objects (CRDs and manifests) and where they were read from. */
  certManagerObjects(ctx: RunContext): Promise<{ objects: KubeObject[]; source: string }>;
  /** Starts what the cluster cannot run itself once its objects exist (no-op where the cluster runs it). */
  startWorkloads(ctx: RunContext, what: 'cert-manager', s: StepContext): Promise<void>;
  /** The ingress on the host: the address and ports a user's client dials. */
  ingress(ctx: RunContext): { address: string; httpPort: number; httpsPort: number };
  /** Makes a path's server reachable from the host for the probe. */
  reach(
    ctx: RunContext,
    run: ScenarioRun,
    path: PathId,
    target: Exclude<ClusterTarget, { kind: 'none' }>,
    s: StepContext,
  ): Promise<Reached>;
  /** Starts capturing the scenario's traffic; returns once the capture listens. */
  startCapture(ctx: RunContext, run: ScenarioRun, outFile: string): Promise<RunningCapture>;
  /** Records what a kept run leaves running; returns how to use and remove it (printed after the report). */
  kept(ctx: RunContext): Promise<string>;
  /** The programs the run used, with versions and sources (the report's components list). */
  components(ctx: RunContext): Component[];
  /**
   * Whether each path's server and client are the real programs or stand-ins. Absent: the real
   * programs serve and call every path (the kind run).
   */
  actors?(ctx: RunContext, run: ScenarioRun): Partial<Record<PathId, PathActors>>;
}

/** Who served and who called a path: `real` (the upstream program) or `stand-in`. */
export interface PathActors {
  server: string;
  client: string;
}
