// Runs a plan's steps in order with try / diagnostics-on-failure / cleanup-in-reverse semantics
// (as Chainsaw does). Steps register cleanups for what they create; Ctrl-C aborts the running
// step and still runs the cleanups; a cleanup error fails the run (a green run never hides one).
import { EXIT, exitCodeOfError } from '../cli/exit-codes.ts';
import type { Progress } from './progress.ts';
import type { StepRecord } from './types.ts';

export interface StepContext {
  signal: AbortSignal;
  /** Register how to undo what this step created; runs in reverse order at the end. */
  onCleanup(title: string, fn: () => Promise<void>): void;
  note(line: string): void;
}

export interface ExecStep {
  id: string;
  title: string;
  run(ctx: StepContext): Promise<void>;
  /** Teardown-phase steps run even after a failure (reports, capture stop). */
  always?: boolean;
  /**
   * Asked when the step comes up: the reason it cannot run here (a program it needs is missing),
   * or undefined. A blocked step is recorded `blocked` with that reason; it neither runs nor fails.
   */
  blocked?: () => string | undefined;
}

export interface ExecOptions {
  progress: Progress;
  /** Keep what was created: `keep` always, `keepOnFailure` only when something failed. */
  keep?: boolean;
  keepOnFailure?: boolean;
  /** Collect diagnostics before cleanup when a step failed. */
  diagnostics?: (failed: StepRecord) => Promise<void>;
  /** External abort (tests); SIGINT/SIGTERM are wired by `installSignalHandlers`. */
  signal?: AbortSignal;
}

export interface ExecResult {
  ok: boolean;
  records: StepRecord[];
  /** Cleanups that failed: the run failed even if every step passed. */
  cleanupErrors: string[];
  kept: boolean;
  interrupted: boolean;
}

export async function execute(steps: readonly ExecStep[], opts: ExecOptions): Promise<ExecResult> {
  const records: StepRecord[] = [];
  const cleanups: { title: string; fn: () => Promise<void> }[] = [];
  const ac = new AbortController();
  const onAbort = () => ac.abort(opts.signal?.reason ?? new Error('interrupted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let failed: StepRecord | null = null;

  for (const step of steps) {
    if ((failed || ac.signal.aborted) && !step.always) {
      const skipped: StepRecord = {
        id: step.id,
        title: step.title,
        status: 'skipped',
        startedAt: new Date().toISOString(),
        durationMs: 0,
      };
      records.push(skipped);
      opts.progress.end(skipped);
      continue;
    }
    const blockedBy = step.blocked?.();
    if (blockedBy) {
      const blocked: StepRecord = {
        id: step.id,
        title: step.title,
        status: 'blocked',
        startedAt: new Date().toISOString(),
        durationMs: 0,
        error: blockedBy,
      };
      records.push(blocked);
      opts.progress.end(blocked);
      continue;
    }
    const started = Date.now();
    opts.progress.start(step.id, step.title);
    const rec: StepRecord = {
      id: step.id,
      title: step.title,
      status: 'ok',
      startedAt: new Date(started).toISOString(),
      durationMs: 0,
    };
    // The steps that run after an interruption (capture stop, reports, teardown) run to their end:
    // racing them against an abort that already happened would leave their work undone.
    const afterAbort = ac.signal.aborted;
    try {
      const running = step.run({
        signal: ac.signal,
        onCleanup: (title, fn) => cleanups.push({ title, fn }),
        note: (l) => opts.progress.note(l),
      });
      // A step left running when the abort wins must not crash the process when it fails later.
      running.catch(() => {});
      await (afterAbort ? running : raceAbort(running, ac.signal));
    } catch (e) {
      rec.status = 'failed';
      const interrupted = ac.signal.aborted && !afterAbort;
      rec.error = interrupted ? `interrupted: ${(e as Error).message}` : (e as Error).message;
      // An interrupted run could not finish; otherwise the error's class says what it means.
      rec.exitCode = ac.signal.aborted ? EXIT.COULD_NOT_RUN : exitCodeOfError(e);
    }
    rec.durationMs = Date.now() - started;
    records.push(rec);
    opts.progress.end(rec);
    if (rec.status === 'failed' && !failed) failed = rec;
  }

  if (failed && opts.diagnostics) {
    try {
      await opts.diagnostics(failed);
    } catch (e) {
      opts.progress.note(`diagnostics could not be collected: ${(e as Error).message}`);
    }
  }

  const kept = Boolean(opts.keep || (failed && opts.keepOnFailure));
  const cleanupErrors: string[] = [];
  if (!kept) {
    for (const c of cleanups.reverse()) {
      const rec: StepRecord = {
        id: 'cleanup',
        title: c.title,
        status: 'ok',
        startedAt: new Date().toISOString(),
        durationMs: 0,
      };
      const t0 = Date.now();
      opts.progress.start('cleanup', c.title);
      try {
        await c.fn();
      } catch (e) {
        rec.status = 'failed';
        rec.error = (e as Error).message;
        cleanupErrors.push(`${c.title}: ${rec.error}`);
      }
      rec.durationMs = Date.now() - t0;
      records.push(rec);
      opts.progress.end(rec);
    }
  } else if (cleanups.length) {
    opts.progress.note(`kept (not cleaned up): ${cleanups.map((c) => c.title).join('; ')}`);
  }
  opts.signal?.removeEventListener('abort', onAbort);
  opts.progress.close();
  return {
    ok: !failed && cleanupErrors.length === 0,
    records,
    cleanupErrors,
    kept,
    interrupted: ac.signal.aborted,
  };
}

/** Stops waiting for a step when the run is aborted; the step sees the same signal and should stop too. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Ctrl-C / SIGTERM abort the run (cleanups still run); a second Ctrl-C exits at once. */
export function installSignalHandlers(
  ac: AbortController,
  out: NodeJS.WritableStream = process.stderr,
): () => void {
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count += 1;
    if (count > 1) {
      out.write(
        `\n${sig} again: exiting without cleanup; the cluster may be left behind (npm run e2e -- --down)\n`,
      );
      process.exit(130);
    }
    out.write(`\n${sig}: stopping the current step and cleaning up (press Ctrl-C again to exit at once)\n`);
    ac.abort(new Error(`${sig} received`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
