export type StepStatus = 'ok' | 'failed' | 'skipped';

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
