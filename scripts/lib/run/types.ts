export type StepStatus = 'ok' | 'failed' | 'skipped';

export interface StepRecord {
  id: string;
  title: string;
  status: StepStatus;
  startedAt: string;
  durationMs: number;
  error?: string;
}
