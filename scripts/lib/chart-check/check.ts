// Renders a chart with every scenario's Direktiv values (helm template, no cluster) and judges
// it, side by side with a reference chart (by default the pinned one).
import type { Scenario } from '../../../scenarios/index.ts';
import { HelmError, helmTemplate } from '../chart/helm.ts';
import { type K8sObject, parseManifests } from '../chart/render.ts';
import { evaluateAll, type Result } from './evaluate.ts';
import { chartValues, RELEASE, requirementsFor } from './requirements.ts';

export interface ChartUnderCheck {
  /** How the report names it: a path, or `direktiv@<ref>`. */
  label: string;
  dir: string;
}

export interface Row {
  id: string;
  object: string;
  what: string;
  because: string;
  underTest: Result;
  /** Absent when there is no reference chart. */
  against?: Result;
  /** Holds in the reference chart and not in the chart under test. */
  regression: boolean;
}

export interface ProfileReport {
  scenario: string;
  mode: string;
  namespace: string;
  /** helm template failed: the reason helm gave. */
  renderError?: { underTest?: string; against?: string };
  rows: Row[];
  failed: number;
  regressions: number;
}

export interface CheckReport {
  chart: ChartUnderCheck;
  against: ChartUnderCheck | { label: string; unavailable: string } | null;
  profiles: ProfileReport[];
  ok: boolean;
}

async function render(helm: string, dir: string, s: Scenario): Promise<K8sObject[] | string> {
  try {
    const text = await helmTemplate({
      helm,
      chartDir: dir,
      releaseName: RELEASE,
      namespace: s.namespace,
      values: chartValues(s),
    });
    return parseManifests(text);
  } catch (e) {
    if (e instanceof HelmError) return e.reason;
    if (e instanceof Error && /rendered/.test(e.message)) return e.message;
    throw e;
  }
}

export interface CheckOptions {
  helm: string;
  chart: ChartUnderCheck;
  against: CheckReport['against'];
  scenarios: readonly Scenario[];
}

export async function chartCheck(o: CheckOptions): Promise<CheckReport> {
  const profiles: ProfileReport[] = [];
  const ref = o.against && 'dir' in o.against ? o.against : null;
  for (const s of o.scenarios) {
    const requirements = requirementsFor(s);
    const mine = await render(o.helm, o.chart.dir, s);
    const theirs = ref ? await render(o.helm, ref.dir, s) : null;
    const renderError: ProfileReport['renderError'] = {};
    if (typeof mine === 'string') renderError.underTest = mine;
    if (typeof theirs === 'string') renderError.against = theirs;
    const failedRender = (why: string): Result => ({ ok: false, actual: `not rendered: ${why}` });
    const a = typeof mine === 'string' ? null : evaluateAll(requirements, mine);
    const b = theirs === null || typeof theirs === 'string' ? null : evaluateAll(requirements, theirs);
    const rows: Row[] = requirements.map((r, i) => {
      const underTest = a ? (a[i]?.result as Result) : failedRender(mine as string);
      const against = ref ? (b ? (b[i]?.result as Result) : failedRender(theirs as string)) : undefined;
      return {
        id: r.id,
        object: r.object,
        what: r.what,
        because: r.because,
        underTest,
        ...(against ? { against } : {}),
        regression: !underTest.ok && against?.ok === true,
      };
    });
    profiles.push({
      scenario: s.name,
      mode: s.mode,
      namespace: s.namespace,
      ...(Object.keys(renderError).length ? { renderError } : {}),
      rows,
      failed: rows.filter((r) => !r.underTest.ok).length,
      regressions: rows.filter((r) => r.regression).length,
    });
  }
  return { chart: o.chart, against: o.against, profiles, ok: profiles.every((p) => p.failed === 0) };
}
