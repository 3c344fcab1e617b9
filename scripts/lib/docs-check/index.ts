// The documentation check: given what an as-documented run saw (path verdicts, failed steps,
// Kubernetes events), say for each erratum of the TLS page whether it broke the run and where
// (which object, which event, which path). Pure: the orchestrator collects, this judges.
import {
  ERRATA,
  type Erratum,
  type Feature,
  type Mode,
  PATH_IDS,
  type PathId,
} from '../../../scenarios/index.ts';

/** A path's verdict as the run reports it. `not-run`: the run stopped before the path was measured. */
export interface DocsPathResult {
  path: PathId;
  outcome: 'pass' | 'fail' | 'inconclusive' | 'not-run';
  /** Why it failed (verbatim from the verdict), e.g. "3 plaintext flows to :5555". */
  reasons?: string[];
  /** Warnings on a pass, e.g. "port 80 of the internal Envoy still serves plaintext". */
  warnings?: string[];
}

/** The fields of the verdict module's PathVerdict this check reads (structural, no import). */
export interface VerdictLike {
  path: PathId;
  status: 'pass' | 'warn' | 'fail' | 'inconclusive';
  reasons?: string[];
  warnings?: string[];
}

/**
 * Verdicts as the run produced them -> DocsPathResult for every path: a warning is a pass that
 * keeps its warnings, and a path without a verdict was not measured (the run stopped first).
 */
export function docsPathResults(verdicts: readonly VerdictLike[]): DocsPathResult[] {
  const byPath = new Map(verdicts.map((v) => [v.path, v]));
  return PATH_IDS.map((path) => {
    const v = byPath.get(path);
    if (!v) return { path, outcome: 'not-run' };
    return {
      path,
      outcome: v.status === 'fail' ? 'fail' : v.status === 'inconclusive' ? 'inconclusive' : 'pass',
      ...(v.reasons?.length ? { reasons: [...v.reasons] } : {}),
      ...(v.warnings?.length ? { warnings: [...v.warnings] } : {}),
    };
  });
}

/** The subset of a core/v1 Event the check reads (pass the API objects as they come). */
export interface EventLike {
  involvedObject: { kind?: string; namespace?: string; name?: string };
  reason?: string;
  message?: string;
  type?: string;
}

export interface FailedStep {
  id: string;
  title: string;
  /** The step's error as reported (a wait's deadline names what it still waited for and why). */
  error: string;
  /** Events collected for the objects the step waited on. */
  events?: EventLike[];
}

export interface DocsRunResult {
  features: readonly Feature[];
  mode: Mode;
  namespace: string;
  serviceNamespace: string;
  verdicts: readonly DocsPathResult[];
  failedSteps: readonly FailedStep[];
  /** Every Warning event of the run's namespaces, beyond those attached to failed steps. */
  events?: readonly EventLike[];
  /** The Direktiv values the run used, to know the Secret names the page's values name. */
  values?: Record<string, unknown>;
}

export type DocsStatus =
  /** Evidence of the erratum was seen. */
  | 'broke'
  /** Everything it concerns was measured and nothing of it was seen. */
  | 'held'
  /** The run stopped before what it concerns could be measured. */
  | 'not-reached'
  /** Its features are not in this run. */
  | 'not-applicable'
  /** An environment erratum: applied in both modes. */
  | 'applied'
  /** A harness erratum: the harness covers the path the page omits. */
  | 'covered';

export interface DocsWhere {
  source: 'verdict' | 'event' | 'step';
  path?: PathId;
  step?: string;
  /** `Kind namespace/name`. */
  object?: string;
  /** `Reason: message` of the event. */
  event?: string;
  detail: string;
}

export interface DocsOutcome {
  id: number;
  title: string;
  kind: Erratum['kind'];
  status: DocsStatus;
  where: DocsWhere[];
  /** What the corrected mode does instead. */
  fix: string;
  /** One sentence for the report. */
  summary: string;
}

interface Names {
  ns: string;
  svcNs: string;
  functionsCA: string;
  flowSecret: string;
  initPodSecret: string;
}

interface Signature {
  /** Failed verdicts on these paths (reason matching `reason`, when given) are evidence. */
  paths?: PathId[];
  reason?: RegExp;
  /** Warnings on these paths are evidence (erratum 7: the plain port stays open). */
  warningPaths?: PathId[];
  warning?: RegExp;
  /** Events that are evidence. */
  events?: (n: Names) => { namespace?: string; reason?: RegExp; message: RegExp }[];
  /** Failed-step errors that are evidence. */
  step?: (n: Names) => RegExp;
  /** Objects that carry the fault when the evidence is a verdict (the report's "where"). */
  objects?: (n: Names) => string[];
  /** Paths that must have been measured for "held" (the erratum would have shown there). */
  affects: PathId[];
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NAME_MISMATCH =
  /x509|altname|ERR_TLS_CERT_ALTNAME|certificate is (not )?valid for|not valid for|name mismatch|does not match|hostname/i;
const GRPC_PATHS: PathId[] = [
  'api->engine',
  'api->functions',
  'engine->functions',
  'sidecar->engine',
  'pod->engine',
];

/** How each erratum shows itself in a run. A test checks that every erratum has one. */
export const SIGNATURES: Record<number, Signature> = {
  1: {
    // The chart ignores isolates.*: the controller serves plaintext, its clients dial plaintext.
    paths: ['api->functions', 'engine->functions'],
    objects: (n) => [`ConfigMap ${n.ns}/direktiv-config-grpc`, `Deployment ${n.ns}/direktiv-functions`],
    affects: ['api->functions', 'engine->functions'],
  },
  2: { affects: ['api->functions'] },
  3: {
    events: (n) => [
      {
        namespace: n.ns,
        reason: /FailedMount/,
        message: new RegExp(`volume "podca"|secret "${esc(n.functionsCA)}" not found`),
      },
    ],
    step: (n) => new RegExp(`podca|secret "?${esc(n.functionsCA)}"? not found`),
    affects: ['api->engine', 'engine->functions'],
  },
  4: {
    events: (n) => [
      {
        namespace: n.svcNs,
        reason: /FailedMount|FailedCreate|Failed/,
        message: new RegExp(`secret "${esc(n.flowSecret)}" not found`),
      },
    ],
    step: (n) => new RegExp(`${esc(n.svcNs)}.*secret "?${esc(n.flowSecret)}"? not found`),
    affects: ['sidecar->engine', 'pod->engine'],
  },
  5: {
    paths: ['engine->pod'],
    reason: NAME_MISMATCH,
    step: (n) =>
      new RegExp(`${esc(n.svcNs)}\\.pod.*(x509|certificate)|(x509|certificate).*${esc(n.svcNs)}\\.pod`),
    objects: (n) => [`Secret ${n.svcNs}/${n.initPodSecret}`],
    affects: ['engine->pod'],
  },
  6: {
    paths: ['engine->knative'],
    reason: NAME_MISMATCH,
    objects: () => ['Secret contour-internal/direktiv-cert-knative', 'Service contour-internal/envoy'],
    affects: ['engine->knative'],
  },
  7: {
    warningPaths: ['engine->knative'],
    warning: /port 80|plain ?text|plain HTTP|http:\/\//i,
    paths: ['engine->knative'],
    reason: /port 80|plain ?text|plain HTTP/i,
    objects: () => [
      'ConfigMap knative-serving-knative/config-network (httpProtocol: Enabled)',
      'Service contour-internal/envoy:80',
    ],
    affects: ['engine->knative'],
  },
  8: {
    step: () => /contour-external.*envoy.*(pending|LoadBalancer|unreachable|not reachable)/i,
    affects: ['client->ingress'],
  },
  9: {
    events: (n) => [{ message: new RegExp(`namespaces? "${esc(n.svcNs)}" not found`) }],
    step: (n) => new RegExp(`namespaces? "${esc(n.svcNs)}" not found`),
    affects: ['client->ingress'],
  },
  10: {
    events: () => [{ message: /ca\.crt/ }],
    step: () => /ca\.crt/,
    affects: GRPC_PATHS,
  },
};

function valueAt(values: Record<string, unknown> | undefined, path: string): string | undefined {
  let v: unknown = values;
  for (const k of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return typeof v === 'string' && v !== 'none' && v !== '' ? v : undefined;
}

function namesOf(r: DocsRunResult): Names {
  return {
    ns: r.namespace,
    svcNs: r.serviceNamespace,
    // The page's names, when the values do not say (as-documented uses the page's values).
    functionsCA: valueAt(r.values, 'flow.functionsCA') ?? 'direktiv-cert-knative',
    flowSecret: valueAt(r.values, 'flow.certificates.flow') ?? 'direktiv-cert-flow',
    initPodSecret: valueAt(r.values, 'functions.initPodCertificate') ?? 'direktiv-cert-flow',
  };
}

const objectOf = (e: EventLike) => {
  const o = e.involvedObject;
  return `${o.kind ?? 'Object'} ${o.namespace ? `${o.namespace}/` : ''}${o.name ?? '?'}`;
};
const eventText = (e: EventLike) => `${e.reason ?? 'Event'}: ${e.message ?? ''}`.trim();
const firstLine = (s: string) => s.split('\n').find((l) => l.trim() !== '') ?? s;

function evidence(sig: Signature, r: DocsRunResult, n: Names): DocsWhere[] {
  const where: DocsWhere[] = [];
  const verdict = new Map(r.verdicts.map((v) => [v.path, v]));
  const objects = sig.objects?.(n) ?? [];
  for (const p of sig.paths ?? []) {
    const v = verdict.get(p);
    if (v?.outcome !== 'fail') continue;
    const reasons = (v.reasons ?? []).filter((x) => !sig.reason || sig.reason.test(x));
    if (sig.reason && reasons.length === 0) continue;
    where.push({
      source: 'verdict',
      path: p,
      ...(objects.length ? { object: objects.join(', ') } : {}),
      detail: reasons.join('; ') || 'the path failed',
    });
  }
  for (const p of sig.warningPaths ?? []) {
    const v = verdict.get(p);
    for (const w of v?.warnings ?? []) {
      if (sig.warning && !sig.warning.test(w)) continue;
      where.push({
        source: 'verdict',
        path: p,
        ...(objects.length ? { object: objects.join(', ') } : {}),
        detail: w,
      });
    }
  }
  const matchers = sig.events?.(n) ?? [];
  const events = [...(r.events ?? []), ...r.failedSteps.flatMap((s) => s.events ?? [])];
  const seen = new Set<string>();
  for (const e of events) {
    const hit = matchers.some(
      (m) =>
        (m.namespace === undefined || e.involvedObject.namespace === m.namespace) &&
        (m.reason === undefined || m.reason.test(e.reason ?? '')) &&
        m.message.test(e.message ?? ''),
    );
    if (!hit) continue;
    const key = `${objectOf(e)}|${eventText(e)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    where.push({
      source: 'event',
      object: objectOf(e),
      event: eventText(e),
      detail: firstLine(e.message ?? ''),
    });
  }
  const stepRe = sig.step?.(n);
  if (stepRe) {
    for (const s of r.failedSteps) {
      const line = s.error.split('\n').find((l) => stepRe.test(l));
      if (line) where.push({ source: 'step', step: s.id, detail: `${s.title}: ${line.trim()}` });
    }
  }
  return where;
}

function summarize(e: Erratum, status: DocsStatus, where: DocsWhere[], missing: PathId[]): string {
  switch (status) {
    case 'broke': {
      const w = where[0] as DocsWhere;
      const at = w.object ?? (w.path ? `path ${w.path}` : `step ${w.step}`);
      return `broke the run at ${at}${w.event ? ` (${w.event})` : ''}${where.length > 1 ? ` and ${where.length - 1} more place(s)` : ''}`;
    }
    case 'held':
      return 'did not show: everything it concerns was measured and passed';
    case 'not-reached':
      return `not reached: the run stopped before ${missing.join(', ')} could be measured`;
    case 'not-applicable':
      return `not applicable: concerns ${e.features.join(', ')}, not in this run`;
    case 'applied':
      return 'applied in both modes (the environment needs it)';
    case 'covered':
      return 'covered by the harness in both modes';
  }
}

/** For each erratum: did it break this run, and where. */
export function docsCheck(r: DocsRunResult): DocsOutcome[] {
  const n = namesOf(r);
  const measured = new Set(r.verdicts.filter((v) => v.outcome !== 'not-run').map((v) => v.path));
  return ERRATA.map((e) => {
    const sig = SIGNATURES[e.id];
    if (!sig) throw new Error(`erratum ${e.id} has no signature in scripts/lib/docs-check (add one)`);
    const applies = e.features.length === 0 || e.features.some((f) => r.features.includes(f));
    const where = applies ? evidence(sig, r, n) : [];
    const missing = sig.affects.filter((p) => !measured.has(p));
    let status: DocsStatus;
    if (!applies) status = 'not-applicable';
    else if (where.length) status = 'broke';
    // Environment and harness errata are applied in both modes; evidence above would mean the
    // applied fix itself failed, which is reported as broke.
    else if (e.kind === 'environment') status = 'applied';
    else if (e.kind === 'harness') status = 'covered';
    else status = missing.length ? 'not-reached' : 'held';
    return {
      id: e.id,
      title: e.title,
      kind: e.kind,
      status,
      where,
      fix: e.fix,
      summary: summarize(e, status, where, missing),
    };
  });
}

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The report's section: one row per erratum, then the places where each one broke. */
export function docsCheckMarkdown(outcomes: readonly DocsOutcome[]): string {
  const lines = ['| # | erratum | status | where | corrected mode |', '|---|---|---|---|---|'];
  for (const o of outcomes) {
    lines.push(`| ${o.id} | ${cell(o.title)} | ${o.status} | ${cell(o.summary)} | ${cell(o.fix)} |`);
  }
  const broke = outcomes.filter((o) => o.where.length);
  if (broke.length) lines.push('');
  for (const o of broke) {
    lines.push(`**${o.id}. ${o.title}**`, '');
    for (const w of o.where) {
      const head = [
        w.path && `path \`${w.path}\``,
        w.step && `step \`${w.step}\``,
        w.object && `object ${w.object}`,
      ]
        .filter(Boolean)
        .join(', ');
      lines.push(`- ${head}${w.event ? `: event \`${cell(w.event)}\`` : `: ${cell(w.detail)}`}`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
