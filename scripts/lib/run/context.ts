// What the steps of one real run share: options, output folder, tools, the cluster's own paths and
// client, and the evidence gathered per scenario. Steps fill it in order; reports read it.
import type { ImageOverrides } from '../../../kind/images.ts';
import { CouldNotRunError, type Scenario } from '../../../scenarios/index.ts';
import type { E2eOptions } from '../cli/e2e-args.ts';
import type { ClusterDriver } from '../cluster/driver.ts';
import type { KubeClient } from '../k8s/client.ts';
import type { PlanStep } from '../plan/types.ts';
import { kubeEnv } from '../preflight/cluster.ts';
import type { ClusterDecision, ClusterPaths, DockerInfo, ToolPaths } from '../preflight/index.ts';
import { firstLines, type Runner, showCommand } from '../tools/runner.ts';
import type { StepContext } from './executor.ts';

export interface ScenarioRun {
  scenario: Scenario;
  /** Everything the evidence steps record, keyed by kind; read by the verdict step. */
  evidence: Record<string, unknown>;
  traffic?: unknown;
  notes: string[];
}

export interface RunContext {
  opts: E2eOptions;
  /** The cluster: kind or the local control plane (see scripts/lib/cluster/driver.ts). */
  driver: ClusterDriver;
  /** The run's output folder (absolute). */
  out: string;
  runner: Runner;
  log: (line: string) => void;
  overrides: ImageOverrides;
  paths: ClusterPaths;
  docker?: DockerInfo;
  tools?: ToolPaths;
  cluster?: ClusterDecision;
  client?: KubeClient;
  charts?: { direktiv: string; knative: string; commit?: string };
  scenarios: Map<string, ScenarioRun>;
  /** Image reference -> repository digest as pulled on the host (for the reproduction bundle). */
  imageDigests: Record<string, string>;
  /**
   * Programs the driver found it cannot run here -> the exact reason (a module the proxy refuses,
   * a program that cannot be built). Plan steps whose `blockedBy` names one are reported blocked.
   */
  blocked?: Record<string, string>;
  /** The cluster's Certificates as the report step saw them (before teardown). */
  certificates?: CertificateStatus[];
}

export interface CertificateStatus {
  namespace: string;
  name: string;
  ready: boolean;
  dnsNames: string[];
}

/** Why a step cannot run here, from the programs it needs that the driver reported missing. */
export function blockedReason(ctx: Pick<RunContext, 'blocked'>, step: PlanStep): string | undefined {
  const why = (step.blockedBy ?? []).filter((b) => ctx.blocked?.[b]).map((b) => `${b}: ${ctx.blocked?.[b]}`);
  return why.length ? why.join('; ') : undefined;
}

/** What one plan step does, given the run's shared context. */
export type Action = (ctx: RunContext, step: PlanStep, s: StepContext) => Promise<void>;

export function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`internal: ${what} is not set (an earlier step did not run)`);
  return v;
}

/** Runs a tool with the cluster's own kubeconfig and helm state; fails with the tool's words. */
export async function runTool(
  ctx: RunContext,
  bin: string,
  args: string[],
  timeoutMs = 600_000,
): Promise<string> {
  const r = await ctx.runner(bin, args, { timeoutMs, env: kubeEnv(ctx.paths) });
  if (r.notFound) {
    throw new CouldNotRunError(
      `${bin} is not installed (not found)`,
      'npm run tools -- fetch (kind, helm, kubectl)',
    );
  }
  if (r.exitCode !== 0) {
    throw new Error(
      `${showCommand(bin, args)} failed (exit ${r.exitCode}): ${firstLines(r.stderr || r.stdout, 6)}`,
    );
  }
  return r.stdout;
}

export async function helmRun(ctx: RunContext, args: string[], timeoutMs?: number): Promise<string> {
  const helm = need(ctx.tools, 'tools').helm.path;
  return runTool(ctx, helm, [...args, '--kubeconfig', ctx.paths.kubeconfig], timeoutMs);
}
