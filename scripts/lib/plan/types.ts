// A plan is data: the ordered steps a user's machine runs for a run, printed by --dry-run and
// written by --output. The executor maps each step's `action` to code; nothing here runs.

export type Phase =
  | 'preflight'
  | 'cluster'
  | 'cert-manager'
  | 'knative'
  | 'namespaces'
  | 'profile'
  | 'direktiv'
  | 'capture'
  | 'stand-ins'
  | 'traffic'
  | 'probe'
  | 'config'
  | 'report'
  | 'teardown';

export interface PlanStep {
  /** Stable id, e.g. `profile.certificates-ready` or `full-mtls/profile.apply`. */
  id: string;
  phase: Phase;
  title: string;
  /** Shell-equivalent commands, in order, that do what the step does (a person can run them by hand). */
  commands: string[];
  /** Files the step applies or uses (relative to the output folder). */
  files?: string[];
  /** For gates: what the step waits for. */
  waitsFor?: string;
  /** Deadline in seconds; a timeout names what is still pending and why. */
  timeoutSec?: number;
  /** The scenario (profile column) the step belongs to; absent for cluster-wide steps. */
  scenario?: string;
  /** Runs even after a failure (capture stop, reports, teardown). */
  always?: boolean;
  /**
   * Programs the step needs that a driver may not have (e.g. `direktiv`, `envoy`). When the
   * driver reports one missing, the step is not run and is reported `blocked` with its exact reason.
   */
  blockedBy?: string[];
}

export interface Plan {
  /** The harness version and pins hash, so a plan can be matched to a cluster marker. */
  header: Record<string, string>;
  steps: PlanStep[];
  /** What a driver cannot run, and why (as last checked; the run checks again and records the exact error). */
  blocked?: Record<string, string>;
}
