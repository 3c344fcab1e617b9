// The run report: one shape for a lab run and a cluster run, rendered as a terminal table, JSON
// (every piece of evidence), JUnit XML and Markdown.
import type { Exemption, PathId, Scenario } from '../../../scenarios/index.ts';
import type { FlowSummary } from '../evidence/types.ts';
import type { PathVerdict } from '../verdict/verdict.ts';

/** The scenario as reports carry it: its identity, without the derived tables. */
export type ScenarioSummary = Pick<
  Scenario,
  'name' | 'profile' | 'features' | 'mode' | 'namespace' | 'serviceNamespace' | 'ingressHost' | 'strict'
>;

export interface Deviation {
  id: number;
  title: string;
  kind: string;
  /** corrected mode: the fix was applied; as-documented: the page was followed and this is what breaks. */
  effect: string;
}

/** The passive capture behind a result's passive evidence: what was recorded and what fit no path. */
export interface CaptureSummary {
  /** e.g. "tcpdump on lo". */
  driver: string;
  /** The BPF filter the capture ran with. */
  filter: string;
  /** Whose traffic the capture holds, in words (which phase of the run it covered). */
  scope: string;
  /** TCP packets decoded and flows classified. */
  packets: number;
  flows: number;
  /** tcpdump's own counts (a kernel drop means the evidence may miss packets). */
  captured?: number;
  droppedByKernel?: number;
  /** The capture file, when it was kept (lab --pcap). */
  file?: string;
  /** The lab's listener ports and the real ports they stand for (to read a kept capture). */
  listeners?: Array<{ port: number; path: PathId; standsFor: number }>;
  /** Flows to the exempt connections' ports: listed, never judged. */
  exempt: Array<{ id: string; reason: string; flows: FlowSummary[] }>;
  /** Flows no path accounts for: listed, never hidden. */
  unattributed: Array<{ flow: FlowSummary; reason: string }>;
  /** The reader's and classifier's warnings (truncated capture, missing bytes, ...). */
  warnings: string[];
}

export interface ProfileResult {
  scenario: ScenarioSummary;
  source: 'lab' | 'cluster';
  /** A planted flaw (lab --mutate). */
  mutation?: { name: string; path: string; description: string };
  verdicts: PathVerdict[];
  /** Plaintext in every profile: listed and counted, never dropped. */
  exemptions: readonly Exemption[];
  deviations: Deviation[];
  /** Things a reader must know (components that never started, lab simplifications). */
  notes: string[];
  /** Present when the run captured traffic (lab --capture). */
  capture?: CaptureSummary;
  durationMs: number;
  /**
   * Who served and who called each path, when not the real programs (`real` or `stand-in`): a
   * verdict on a stand-in is no verdict on the real program, and every report form says so.
   */
  actors?: Partial<Record<PathId, { server: string; client: string }>>;
}

export interface RunReport {
  tool: 'direktiv-tls-e2e';
  generatedAt: string;
  results: ProfileResult[];
  /** The programs the run used, with versions and sources (runs on a cluster driver). */
  components?: Array<{ name: string; version: string; source: string }>;
  /** Steps that could not run here, with the exact reason (never counted as pass). */
  blocked?: Array<{ id: string; reason: string }>;
  summary: {
    profiles: number;
    paths: number;
    pass: number;
    warn: number;
    fail: number;
    /** Paths the probes could not decide (nothing failed there): exit 4 when nothing else failed. */
    inconclusive: number;
    exempt: number;
  };
}

export function scenarioSummary(s: Scenario): ScenarioSummary {
  return {
    name: s.name,
    profile: s.profile,
    features: s.features,
    mode: s.mode,
    namespace: s.namespace,
    serviceNamespace: s.serviceNamespace,
    ingressHost: s.ingressHost,
    strict: s.strict,
  };
}

export function deviationsOf(s: Scenario): Deviation[] {
  return s.errata.map((e) => {
    // Erratum 7's fix is the --strict option, in either mode.
    const applied = e.id === 7 ? s.strict : s.mode === 'corrected' || e.kind !== 'page';
    const why = e.id === 7 ? 'not applied without --strict' : 'not applied (page verbatim)';
    return {
      id: e.id,
      title: e.title,
      kind: e.kind,
      effect: applied ? `applied: ${e.fix}` : `${why}: ${e.breaks}`,
    };
  });
}

export function buildReport(results: ProfileResult[], now = new Date()): RunReport {
  const all = results.flatMap((r) => r.verdicts);
  return {
    tool: 'direktiv-tls-e2e',
    generatedAt: now.toISOString(),
    results,
    summary: {
      profiles: results.length,
      paths: all.length,
      pass: all.filter((v) => v.status === 'pass').length,
      warn: all.filter((v) => v.status === 'warn').length,
      fail: all.filter((v) => v.status === 'fail').length,
      inconclusive: all.filter((v) => v.status === 'inconclusive').length,
      exempt: results.reduce((n, r) => n + r.exemptions.length, 0),
    },
  };
}

/** Every verdict holds: nothing failed, nothing undecided, something judged. */
export function reportOk(r: RunReport): boolean {
  return reportOutcome(r) === 'pass';
}

/** pass, fail (a verdict failed, or nothing was judged), or inconclusive (nothing failed, something undecided). */
export function reportOutcome(r: RunReport): 'pass' | 'fail' | 'inconclusive' {
  const s = r.summary;
  if (s.fail > 0 || s.paths === 0) return 'fail';
  // Steps that could not run here (a control-plane run without Direktiv): the verdicts hold for
  // what ran, which proves no more than that.
  return (s.inconclusive ?? 0) > 0 || (r.blocked?.length ?? 0) > 0 ? 'inconclusive' : 'pass';
}
