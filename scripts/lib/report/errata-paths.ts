// Where each erratum of the TLS page broke an as-documented run, per path: the documentation
// check (docs-check) judges, this only sorts its answer by path for the pictures.
import { direktivValues } from '../../../scenarios/direktiv-values.ts';
import { buildScenario, isPathId, type PathId } from '../../../scenarios/index.ts';
import { type DocsOutcome, docsCheck, docsPathResults, type FailedStep } from '../docs-check/index.ts';
import type { ProfileResult } from './types.ts';

export interface StepLike {
  id: string;
  title: string;
  status: string;
  startedAt?: string;
  durationMs: number;
  error?: string;
}

export interface ErrataOnPaths {
  outcomes: DocsOutcome[];
  /** Errata that broke each path (status `broke` with a `where` on that path). */
  byPath: Map<PathId, number[]>;
}

function valuesOf(r: ProfileResult): Record<string, unknown> | undefined {
  try {
    const s = r.scenario;
    const scenario = buildScenario({
      ...(s.profile ? { profile: s.profile } : { features: s.features.join(',') }),
      mode: s.mode,
      namespace: s.namespace,
      serviceNamespace: s.serviceNamespace,
      ingressHost: s.ingressHost,
      strict: s.strict,
    });
    return direktivValues(scenario) as Record<string, unknown>;
  } catch {
    // A report from another version may name a feature set this one refuses: judge without values.
    return undefined;
  }
}

/** The errata outcome of one as-documented result; `null` for a corrected run. */
export function errataOnPaths(r: ProfileResult, steps: readonly StepLike[] = []): ErrataOnPaths | null {
  if (r.scenario.mode !== 'as-documented') return null;
  const name = r.scenario.name;
  const failedSteps: FailedStep[] = steps
    .filter((x) => x.status === 'failed' && (!x.id.includes('/') || x.id.startsWith(`${name}/`)))
    .map((x) => ({ id: x.id, title: x.title, error: x.error ?? '' }));
  const values = valuesOf(r);
  const outcomes = docsCheck({
    features: r.scenario.features,
    mode: r.scenario.mode,
    namespace: r.scenario.namespace,
    serviceNamespace: r.scenario.serviceNamespace,
    verdicts: docsPathResults(r.verdicts),
    failedSteps,
    ...(values ? { values } : {}),
  });
  const byPath = new Map<PathId, number[]>();
  for (const o of outcomes) {
    if (o.status !== 'broke') continue;
    for (const w of o.where) {
      if (!w.path || !isPathId(w.path)) continue;
      const list = byPath.get(w.path) ?? [];
      if (!list.includes(o.id)) list.push(o.id);
      byPath.set(w.path, list);
    }
  }
  return { outcomes, byPath };
}
