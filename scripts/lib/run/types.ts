/** `blocked`: not run because a program it needs cannot run here (the error says which and why). */
export type StepStatus = 'ok' | 'failed' | 'skipped' | 'blocked';

export interface StepRecord {
  id: string;
  title: string;
  status: StepStatus;
  startedAt: string;
  durationMs: number;
  error?: string;
  /** The exit code the step's error means (scripts/lib/cli/exit-codes.ts), when it failed. */
  exitCode?: number;
}
