// Polling waits with deadlines that explain themselves: a check answers what is still not
// ready and why; on timeout the error lists each pending object with its reason and the extra
// evidence an `explain` hook gathers (conditions, events, pod states). Users of chart-testing and
// friends keep asking for exactly this: WHICH object was not ready, and WHY.
import { KubeApiError } from './errors.ts';
import type { KubeRef } from './types.ts';

export interface Pending {
  /** What is not ready, e.g. `Deployment knative-serving-knative/webhook`. */
  object: string;
  /** Why, in one line, e.g. `Available=False (MinimumReplicasUnavailable: ...)`. */
  why: string;
  /** Supporting evidence, one line each (pod states, events, related objects). */
  details?: string[];
  /** The object, when it is one, so explain hooks can look up events and pods. */
  ref?: KubeRef;
}

export interface CheckResult {
  ready: boolean;
  pending: Pending[];
}

export interface WaitOptions {
  timeoutMs: number;
  /** Poll interval; default 2 s (tests pass a few ms). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called with one line whenever the set of pending reasons changes (not on every poll). */
  onProgress?: (line: string) => void;
  /** Gathers evidence for the timeout message; gets a few seconds at most. */
  explain?: (pending: Pending[]) => Promise<Pending[]>;
  /** Errors of the check that end the wait at once instead of being retried. */
  isFatal?: (e: unknown) => boolean;
  /** What to do about the (explained) pending items: lines appended to the timeout message. */
  hints?: (pending: Pending[]) => string[];
}

export interface WaitResult {
  elapsedMs: number;
  polls: number;
}

export class WaitTimeoutError extends Error {
  readonly description: string;
  readonly pending: Pending[];
  readonly elapsedMs: number;
  constructor(description: string, pending: Pending[], elapsedMs: number, hints: string[] = []) {
    super(
      formatTimeout(description, pending, elapsedMs) +
        (hints.length ? `\nWhat to do:\n${hints.map((h) => `  - ${h}`).join('\n')}` : ''),
    );
    this.name = 'WaitTimeoutError';
    this.description = description;
    this.pending = pending;
    this.elapsedMs = elapsedMs;
  }
}

export class WaitAbortedError extends Error {
  constructor(description: string, reason: unknown) {
    super(
      `stopped waiting for ${description}: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`,
    );
    this.name = 'WaitAbortedError';
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;

export function formatPending(p: Pending): string {
  const lines = [`  - ${p.object}: ${p.why}`];
  for (const d of p.details ?? []) lines.push(`      ${d}`);
  return lines.join('\n');
}

function formatTimeout(description: string, pending: Pending[], elapsedMs: number): string {
  const head = `timed out after ${seconds(elapsedMs)} waiting for ${description}`;
  if (pending.length === 0) return `${head} (the last check reported nothing pending but not ready)`;
  return `${head}; ${pending.length} still not ready:\n${pending.map(formatPending).join('\n')}`;
}

/** One line for progress output: `2 pending: Deployment a/b (0/1 available); Secret c/d (not created yet)`. */
export function summarizePending(pending: Pending[]): string {
  return `${pending.length} pending: ${pending.map((p) => `${p.object} (${p.why})`).join('; ')}`;
}

/** Default fatal errors: retrying cannot help when the credentials or permissions are wrong. */
export function defaultIsFatal(e: unknown): boolean {
  return e instanceof KubeApiError && (e.reason === 'Unauthorized' || e.reason === 'Forbidden');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const FIRST_CHECK_MS = 5_000;

/** Resolves with the promise's value, or with `undefined` once `ms` passed. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    t = setTimeout(() => r(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([p.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(t);
  }
}

/**
 * Polls `check` until it reports ready, the deadline passes (WaitTimeoutError naming every
 * pending object and why) or `signal` aborts. A check that throws counts as pending with its
 * error as the reason (the API server may be restarting), unless `isFatal` says otherwise.
 */
export async function waitFor(
  description: string,
  check: () => Promise<CheckResult>,
  opts: WaitOptions,
): Promise<WaitResult> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const interval = opts.intervalMs ?? 2000;
  const isFatal = opts.isFatal ?? defaultIsFatal;
  let polls = 0;
  let pending: Pending[] = [];
  let lastSummary = '';
  for (;;) {
    if (opts.signal?.aborted) throw new WaitAbortedError(description, opts.signal.reason);
    polls++;
    let result: CheckResult;
    try {
      // The first check always gets a few seconds: on a loaded machine a short deadline must
      // still end with what is pending, not with "the check did not answer".
      const r = await within(check(), Math.max(deadline - Date.now(), polls === 1 ? FIRST_CHECK_MS : 0));
      result = r
        ? r.value
        : {
            ready: false,
            pending: pending.length
              ? pending
              : [{ object: description, why: 'the check itself did not answer before the deadline' }],
          };
    } catch (e) {
      if (isFatal(e)) {
        throw new Error(`waiting for ${description} failed: ${(e as Error).message}`, { cause: e });
      }
      result = {
        ready: false,
        pending: [
          { object: description, why: `check failed: ${(e as Error).message?.split('\n')[0] ?? String(e)}` },
        ],
      };
    }
    if (result.ready) return { elapsedMs: Date.now() - started, polls };
    pending = result.pending;
    const summary = summarizePending(pending);
    if (summary !== lastSummary) {
      lastSummary = summary;
      opts.onProgress?.(`waiting for ${description}: ${summary}`);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      let explained = pending;
      if (opts.explain) {
        try {
          explained = (await within(opts.explain(pending), 10_000))?.value ?? pending;
        } catch (e) {
          explained = pending.map((p) => ({
            ...p,
            details: [...(p.details ?? []), `(could not gather more evidence: ${(e as Error).message})`],
          }));
        }
      }
      throw new WaitTimeoutError(description, explained, Date.now() - started, opts.hints?.(explained) ?? []);
    }
    try {
      await sleep(Math.min(interval, remaining), opts.signal);
    } catch (reason) {
      throw new WaitAbortedError(description, reason);
    }
  }
}
