// The report of a real run: the same verdicts and formats as the lab (profileResult, renderers),
// plus the step timings, the traffic record, and for as-documented runs where the page broke.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { direktivValues } from '../../../scenarios/direktiv-values.ts';
import { PATH_IDS, type PathId } from '../../../scenarios/index.ts';
import { writeReportOutputs } from '../cli/output-options.ts';
import { docsCheck, docsCheckMarkdown, docsPathResults, type FailedStep } from '../docs-check/index.ts';
import { layout } from '../plan/layout.ts';
import { renderTerminal } from '../report/render.ts';
import { profileResult } from '../report/result.ts';
import { buildReport, type ProfileResult, type RunReport, reportOk } from '../report/types.ts';
import type { PathEvidence } from '../verdict/verdict.ts';
import type { RunContext, ScenarioRun } from './context.ts';
import { evidenceOf } from './steps-evidence.ts';
import type { StepRecord } from './types.ts';

export function scenarioResult(
  run: ScenarioRun,
  durationMs: number,
  legacyTls: 'fail' | 'warn' = 'fail',
): ProfileResult {
  const ev = evidenceOf(run);
  const evidence: Partial<Record<PathId, PathEvidence>> = {};
  for (const p of PATH_IDS) {
    const e: PathEvidence = {};
    if (ev.passive?.[p]) e.passive = ev.passive[p];
    if (ev.active?.[p]) e.active = ev.active[p];
    if (ev.config?.[p]) e.config = ev.config[p];
    evidence[p] = e;
  }
  const result = profileResult(run.scenario, evidence, {
    source: 'cluster',
    durationMs,
    notes: run.notes,
    legacyTls,
  });
  if (ev.captureSummary) result.capture = ev.captureSummary;
  return result;
}

export interface WrittenReport {
  report: RunReport;
  ok: boolean;
  text: string;
  docs: string;
}

/** Builds and writes every report format; returns what the terminal shows. */
export async function writeReports(ctx: RunContext, records: readonly StepRecord[]): Promise<WrittenReport> {
  const results = [...ctx.scenarios.values()].map((r) =>
    scenarioResult(
      r,
      records.filter((x) => x.id.startsWith(`${r.scenario.name}/`)).reduce((n, x) => n + x.durationMs, 0),
      ctx.opts.allowLegacyTls ? 'warn' : 'fail',
    ),
  );
  for (const [i, run] of [...ctx.scenarios.values()].entries()) {
    const actors = ctx.driver.actors?.(ctx, run);
    if (actors && results[i]) results[i].actors = actors;
  }
  const report = buildReport(results);
  const components = ctx.driver.components(ctx);
  const blocked = records
    .filter((r) => r.status === 'blocked')
    .map((r) => ({ id: r.id, reason: r.error ?? '' }));
  // Only a driver that stands in for programs lists them: the kind run's reports stay as they were.
  if (results.some((r) => r.actors) || blocked.length) report.components = components;
  if (blocked.length) report.blocked = blocked;
  const failedSteps: FailedStep[] = records
    .filter((r) => r.status === 'failed')
    .map((r) => ({ id: r.id, title: r.title, error: r.error ?? '' }));
  let docs = '';
  for (const run of ctx.scenarios.values()) {
    if (run.scenario.mode !== 'as-documented') continue;
    const result = results.find((r) => r.scenario.name === run.scenario.name);
    const outcomes = docsCheck({
      features: run.scenario.features,
      mode: run.scenario.mode,
      namespace: run.scenario.namespace,
      serviceNamespace: run.scenario.serviceNamespace,
      verdicts: docsPathResults(result?.verdicts ?? []),
      failedSteps: failedSteps.filter((f) => !f.id.includes('/') || f.id.startsWith(`${run.scenario.name}/`)),
      values: direktivValues(run.scenario),
    });
    docs += docsCheckMarkdown(outcomes);
  }
  // Each path verdict carries who served and called it, where stand-ins did.
  for (const r of report.results)
    for (const v of r.verdicts) if (r.actors?.[v.path]) Object.assign(v, r.actors[v.path]);
  const extras = {
    steps: records.map((r) => ({ ...r, seconds: Math.round(r.durationMs / 100) / 10 })),
    ...(ctx.certificates ? { certificates: ctx.certificates } : {}),
    traffic: Object.fromEntries([...ctx.scenarios.values()].map((r) => [r.scenario.name, r.traffic ?? null])),
  };
  await writeReportOutputs(
    report,
    {
      json: ctx.opts.json ?? join(ctx.out, layout.reportJson),
      junit: ctx.opts.junit ?? join(ctx.out, layout.reportJunit),
      markdown: ctx.opts.markdown ?? join(ctx.out, layout.reportMarkdown),
      html: ctx.opts.html ?? join(ctx.out, layout.reportHtml),
    },
    { json: extras, htmlFallback: true, ...(docs ? { markdownSuffix: docs } : {}) },
  );
  const text = renderTerminal(report);
  await mkdir(ctx.out, { recursive: true });
  await writeFile(join(ctx.out, layout.reportText), text);
  return { report, ok: reportOk(report), text, docs };
}
