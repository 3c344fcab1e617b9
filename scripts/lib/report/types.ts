// The run report: one shape for a lab run and a cluster run, rendered as a terminal table, JSON
// (every piece of evidence), JUnit XML and Markdown.
import type { Exemption, Feature, Mode, ProfileName, Scenario } from '../../../scenarios/index.ts';
import type { PathVerdict } from '../verdict/verdict.ts';

export interface ScenarioSummary {
  name: string;
  profile: ProfileName | null;
  features: Feature[];
  mode: Mode;
  namespace: string;
  serviceNamespace: string;
  ingressHost: string;
  strict: boolean;
}

export interface Deviation {
  id: number;
  title: string;
  kind: string;
  /** corrected mode: the fix was applied; as-documented: the page was followed and this is what breaks. */
  effect: string;
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
  durationMs: number;
}

export interface RunReport {
  tool: 'direktiv-tls-e2e';
  generatedAt: string;
  results: ProfileResult[];
  summary: { profiles: number; paths: number; pass: number; warn: number; fail: number; exempt: number };
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
      exempt: results.reduce((n, r) => n + r.exemptions.length, 0),
    },
  };
}

export function reportOk(r: RunReport): boolean {
  return r.summary.fail === 0 && r.summary.paths > 0;
}
