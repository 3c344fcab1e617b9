// One profile's result from its evidence: what a lab run and a cluster run both hand to the
// report renderers, so both print the same report.
import type { PathId, Scenario } from '../../../scenarios/index.ts';
import { type JudgeOptions, judgeScenario, type PathEvidence } from '../verdict/verdict.ts';
import { deviationsOf, type ProfileResult, scenarioSummary } from './types.ts';

export interface ResultOptions extends JudgeOptions {
  source: ProfileResult['source'];
  durationMs: number;
  notes?: string[];
  mutation?: ProfileResult['mutation'];
  capture?: ProfileResult['capture'];
}

export function profileResult(
  scenario: Scenario,
  evidence: Partial<Record<PathId, PathEvidence>>,
  opts: ResultOptions,
): ProfileResult {
  const r: ProfileResult = {
    scenario: scenarioSummary(scenario),
    source: opts.source,
    verdicts: judgeScenario(scenario, evidence, {
      ...(opts.passiveJudge ? { passiveJudge: opts.passiveJudge } : {}),
      ...(opts.legacyTls ? { legacyTls: opts.legacyTls } : {}),
    }),
    exemptions: scenario.exemptions,
    deviations: deviationsOf(scenario),
    notes: opts.notes ?? [],
    durationMs: Math.round(opts.durationMs),
  };
  if (opts.mutation) r.mutation = opts.mutation;
  if (opts.capture) r.capture = opts.capture;
  return r;
}
