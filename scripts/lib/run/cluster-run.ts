// A real run: plan steps -> actions -> executor (diagnostics before cleanup, Ctrl-C safe) ->
// reports. Docker is checked before anything else, so a machine without it stops at once.
import { join } from 'node:path';
import { loadImageOverrides } from '../../../kind/images.ts';
import { writeBundle } from '../bundle/index.ts';
import type { E2eOptions } from '../cli/e2e-args.ts';
import { EXIT, exitCodeFor } from '../cli/exit-codes.ts';
import type { ClusterDriver } from '../cluster/driver.ts';
import { kindDriver } from '../cluster/kind.ts';
import type { KubeClient } from '../k8s/client.ts';
import { collectDiagnostics } from '../k8s/diagnostics.ts';
import { layout } from '../plan/layout.ts';
import type { Plan, PlanStep } from '../plan/types.ts';
import { clusterPaths, PreflightErrors } from '../preflight/index.ts';
import { execaRunner, type Runner } from '../tools/runner.ts';
import { type Action, blockedReason, type CertificateStatus, type RunContext } from './context.ts';
import { type ExecStep, execute, installSignalHandlers } from './executor.ts';
import { autoProgress, type Progress, timingSummary } from './progress.ts';
import { scenarioResult, writeReports } from './report-step.ts';
import { evidenceActions } from './steps-evidence.ts';
import { imageActions } from './steps-images.ts';
import { installActions } from './steps-install.ts';
import type { StepRecord } from './types.ts';

const SHARED: Record<string, Action> = { ...installActions, ...imageActions, ...evidenceActions };

/**
 * The action of a plan step (`full-mtls/profile.apply` -> `profile.apply`): the driver's own steps
 * first (preflight, cluster), else the shared step code every driver runs.
 */
export function actionFor(step: PlanStep, driver: ClusterDriver = kindDriver): Action | undefined {
  const name = step.id.slice(step.id.indexOf('/') + 1);
  return driver.actions[name] ?? SHARED[name] ?? (step.id === 'report.write' ? reportPlaceholder : undefined);
}

// The verdicts are judged in the plan's report step, before teardown, so that a failing path
// counts as a failure of the run: diagnostics and the reproduction bundle are collected and
// --keep-on-failure keeps the cluster. The files are written after the executor returns, with
// every step's timing (cleanups included).
const reportPlaceholder: Action = async (ctx) => {
  if (ctx.scenarios.size === 0) throw new Error('no scenario to report');
  // The Certificates as issued, read while the cluster still runs (the files are written after teardown).
  if (ctx.client) ctx.certificates = await certificateStatus(ctx.client).catch(() => undefined);
  const failed = [...ctx.scenarios.values()].flatMap((r) =>
    scenarioResult(r, 0, ctx.opts.allowLegacyTls ? 'warn' : 'fail')
      .verdicts.filter((v) => v.status === 'fail')
      .map((v) => `${r.scenario.name}/${v.path}: ${v.reason}`),
  );
  if (failed.length) {
    throw new Error(`${failed.length} path verdict(s) failed:\n  ${failed.join('\n  ')}`);
  }
};

async function certificateStatus(client: KubeClient): Promise<CertificateStatus[]> {
  return (await client.list('cert-manager.io/v1', 'Certificate')).map((c) => {
    const conditions = ((c.status as { conditions?: { type: string; status: string }[] } | undefined)
      ?.conditions ?? []) as { type: string; status: string }[];
    return {
      namespace: c.metadata.namespace ?? '',
      name: c.metadata.name ?? '',
      ready: conditions.some((x) => x.type === 'Ready' && x.status === 'True'),
      dnsNames: ((c.spec as { dnsNames?: string[] } | undefined)?.dnsNames ?? []) as string[],
    };
  });
}

export function defaultOutput(clusterName: string, now = new Date()): string {
  return join(clusterPaths(clusterName).dir, 'runs', now.toISOString().replace(/[:.]/g, '-'));
}

export interface ClusterRunDeps {
  runner?: Runner;
  progress?: Progress;
  out?: (s: string) => void;
  signal?: AbortSignal;
  /** Writes the plan's files into the output folder (after the driver's precheck: no Docker, no work). */
  writeFiles?: () => Promise<unknown>;
  /** The cluster (default: kind). */
  driver?: ClusterDriver;
}

export async function runCluster(opts: E2eOptions, plan: Plan, deps: ClusterRunDeps = {}): Promise<number> {
  const runner = deps.runner ?? execaRunner;
  const print = deps.out ?? ((s: string) => process.stdout.write(s));
  const driver = deps.driver ?? kindDriver;
  const out = opts.output ?? defaultOutput(opts.clusterName);
  const ctx: RunContext = {
    opts,
    driver,
    out,
    runner,
    log: (l) => print(`${l}\n`),
    overrides: loadImageOverrides(),
    paths: clusterPaths(opts.clusterName),
    scenarios: new Map(opts.scenarios.map((s) => [s.name, { scenario: s, evidence: {}, notes: [] }])),
    imageDigests: {},
  };
  // What the driver cannot do without (Docker for kind) first: the user should learn it in a second
  // (a PreflightError: the run cannot start, exit 3).
  await driver.precheck(ctx);
  await deps.writeFiles?.();
  const steps: ExecStep[] = plan.steps.map((step) => {
    const action = actionFor(step, driver);
    if (!action) throw new Error(`internal: plan step ${step.id} has no action`);
    return {
      id: step.id,
      title: step.title,
      always: step.always,
      blocked: () => blockedReason(ctx, step),
      run: (s) => action(ctx, step, s),
    };
  });

  const ac = new AbortController();
  const uninstall = installSignalHandlers(ac);
  if (deps.signal) deps.signal.addEventListener('abort', () => ac.abort(deps.signal?.reason), { once: true });
  let result: Awaited<ReturnType<typeof execute>>;
  try {
    result = await execute(steps, {
      progress: deps.progress ?? autoProgress(),
      keep: opts.keep,
      keepOnFailure: opts.keepOnFailure,
      signal: ac.signal,
      diagnostics: async (failed) => {
        await failureArtifacts(ctx, plan, failed);
      },
    });
  } finally {
    uninstall();
  }

  const written = await writeReports(ctx, result.records);
  print(`\n${written.text}`);
  if (written.docs) print(`\n${written.docs}`);
  print(`\n${timingSummary(result.records)}\n`);
  for (const e of result.cleanupErrors) print(`teardown failed: ${e}\n`);
  print(`\nreports and files in ${out}\n`);
  if (result.kept) print(`${await driver.kept(ctx)}\n`);
  return runExitCode(result, written.report);
}

/**
 * The run's exit code: the first failed step's, when its error says the run could not start or
 * finish (3) or had bad input (2); a failed teardown is a failure (1); else the verdicts' code.
 */
export function runExitCode(
  result: { records: readonly StepRecord[]; cleanupErrors: readonly string[] },
  report: Parameters<typeof exitCodeFor>[0],
): number {
  const failed = result.records.find((r) => r.status === 'failed' && r.id !== 'cleanup');
  if (failed?.exitCode !== undefined && failed.exitCode !== EXIT.FAILED) return failed.exitCode;
  if (failed || result.cleanupErrors.length) return EXIT.FAILED;
  const verdicts = exitCodeFor(report);
  // Every verdict held, but a step could not run here: the run cannot claim the setup holds.
  if (verdicts === EXIT.OK && result.records.some((r) => r.status === 'blocked')) return EXIT.INCONCLUSIVE;
  return verdicts;
}

/** On failure: diagnostics of everything the run touched, then the reproduction bundle. */
async function failureArtifacts(ctx: RunContext, plan: Plan, failed: StepRecord): Promise<void> {
  if (ctx.client) {
    const namespaces = new Set<string>([
      'cert-manager',
      'contour-external',
      'contour-internal',
      'knative-serving-knative',
    ]);
    for (const r of ctx.scenarios.values()) {
      namespaces.add(r.scenario.namespace);
      namespaces.add(r.scenario.serviceNamespace);
    }
    const d = await collectDiagnostics(ctx.client, {
      dir: join(ctx.out, layout.diagnostics),
      namespaces: [...namespaces],
    });
    ctx.log(
      `diagnostics: ${d.files.length} files in ${d.dir}${d.errors.length ? ` (${d.errors.length} could not be collected)` : ''}`,
    );
  }
  const b = await writeBundle({
    options: ctx.opts,
    output: ctx.out,
    imageDigests: ctx.imageDigests,
    plan,
    failure: { step: failed.id, message: failed.error ?? '' },
  });
  ctx.log(`reproduction bundle: ${b.dir}\n  replay: ${b.command}`);
}

export { PreflightErrors };
