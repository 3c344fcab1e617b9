// Verdicts: each path's expected state against the evidence gathered for it. Up to three kinds
// of evidence per path (passive capture, active probe, configuration), strongest first. A path
// passes only when every kind present passes; a verdict names the kinds it rests on, and warns
// when the kinds disagree (one of them is then wrong: the detector, or the configuration model).
// A path without any evidence fails: silence is never a pass.
import type { PathExpectation, PathId, Scenario } from '../../../scenarios/index.ts';
import { PATH_IDS } from '../../../scenarios/index.ts';
import { judgePassive } from '../capture/judge.ts';
import type { ConfigEvidence, Judgement, PassivePathEvidence } from '../evidence/types.ts';
import type { ActivePathEvidence, ObservedState } from '../probe/types.ts';

export type EvidenceKind = 'passive' | 'active' | 'config';
/** Strongest first (profiles-and-paths.md, "Evidence"). */
export const EVIDENCE_ORDER: readonly EvidenceKind[] = ['passive', 'active', 'config'];

/**
 * inconclusive: nothing failed, but a check could not decide (the server refused the probe and the
 * real client alike): never a pass, never a failure; runs with one exit 4.
 */
export type VerdictStatus = 'pass' | 'warn' | 'fail' | 'inconclusive';

export interface PathEvidence {
  passive?: PassivePathEvidence;
  active?: ActivePathEvidence;
  config?: ConfigEvidence;
}

export interface KindJudgement extends Judgement {
  kind: EvidenceKind;
  /** Each failure in words (a Judgement's reason may join several). */
  reasons: string[];
  warnings: string[];
  /** Checks that could not decide, in words (active evidence only). */
  inconclusive?: string[];
}

export interface PathVerdict {
  path: PathId;
  expected: PathExpectation;
  status: VerdictStatus;
  ok: boolean;
  /** One line: the failures, or what the pass rests on. JUnit failure text. */
  reason: string;
  reasons: string[];
  warnings: string[];
  /** What could not be decided (status inconclusive when nothing failed). */
  inconclusive: string[];
  /** The kinds of evidence the verdict rests on, strongest first. */
  basis: EvidenceKind[];
  judgements: KindJudgement[];
  /** What the wire showed (active evidence); report cells print it. */
  observed?: ObservedState;
  evidence: PathEvidence;
}

/** Passive evidence is read by capture's judge (one owner of that rule); replaceable for tests. */
export type PassiveJudge = (state: PathExpectation['state'], ev: PassivePathEvidence) => Judgement;

export interface JudgeOptions {
  /** Default: scripts/lib/capture/judge.ts judgePassive. */
  passiveJudge?: PassiveJudge;
  /**
   * TLS 1.0/1.1 accepted beside 1.2+: a failure (default, the spec's "TLS 1.2 or newer") or a
   * warning (--allow-legacy-tls: Direktiv v0.4.1 sets no minimum version, so its Go servers built
   * before Go 1.22 accept TLS 1.0; this keeps the other checks' signal visible).
   */
  legacyTls?: 'fail' | 'warn';
}

const LEGACY_CHECK = 'legacy-tls-refused';

function portWord(ev: ActivePathEvidence): string {
  return String(ev.target.displayPort ?? ev.target.port);
}

function passSummary(ev: ActivePathEvidence): string {
  const h = ev.facts.handshake;
  const port = portWord(ev);
  switch (ev.expected.state) {
    case 'plain': {
      const p = ev.facts.plaintext.find((x) => x.outcome === 'served');
      return `plaintext served on ${p?.displayPort ?? port} as expected (${p?.detail ?? ''})`;
    }
    case 'tls':
      return `TLS (${h.protocol}) on ${port}, certificate verified for ${ev.target.serverName}, plaintext refused`;
    case 'mtls':
      return `mTLS (${h.protocol}) on ${port}, certificate verified for ${ev.target.serverName}, plaintext, no client certificate and a foreign-CA certificate refused`;
    case 'https':
      return `HTTPS (${h.protocol}) on ${port}, certificate verified for ${ev.target.serverName}, port ${
        ev.target.displayPlainPort ?? ev.target.plainPort
      } redirects`;
  }
}

export function judgeActive(
  ev: ActivePathEvidence,
  opts: Pick<JudgeOptions, 'legacyTls'> = {},
): KindJudgement {
  const checks = ev.checks;
  const demoted = (c: (typeof checks)[number]) =>
    opts.legacyTls === 'warn' && !c.ok && c.name === LEGACY_CHECK;
  const undecided = checks.filter((c) => c.status === 'inconclusive' && !c.ok);
  const failed = checks.filter((c) => !c.ok && c.status !== 'inconclusive' && !demoted(c));
  const reasons = failed.map((c) => c.reason ?? `${c.name}: ${c.detail}`);
  const warnings = checks.flatMap((c) => (c.warning ? [c.warning] : []));
  for (const c of checks.filter(demoted))
    warnings.push(`${c.reason ?? c.detail} (allowed by --allow-legacy-tls)`);
  // Both answers go into the words: what the probe got and what the real client got.
  const inconclusive = undecided.map((c) => `${c.name}: ${c.reason ?? 'undecided'} (${c.detail})`);
  const ok = failed.length === 0 && undecided.length === 0 && checks.length > 0;
  if (checks.length === 0) reasons.push('the probe made no check');
  const reason = ok
    ? passSummary(ev)
    : reasons.length
      ? reasons.join('; ')
      : `inconclusive: ${inconclusive.join('; ')}`;
  return { kind: 'active', ok, reason, reasons, warnings, inconclusive };
}

export function judgeConfig(ev: ConfigEvidence): KindJudgement {
  const reason = ev.findings.length
    ? ev.findings.join('; ')
    : ev.ok
      ? 'configuration matches the profile'
      : '';
  return {
    kind: 'config',
    ok: ev.ok,
    reason: reason || 'configuration does not match the profile',
    reasons: ev.ok
      ? []
      : ev.findings.length
        ? [...ev.findings]
        : ['configuration does not match the profile'],
    warnings: [],
  };
}

export function judgePath(
  path: PathId,
  expected: PathExpectation,
  evidence: PathEvidence,
  opts: JudgeOptions = {},
): PathVerdict {
  const judgements: KindJudgement[] = [];
  for (const kind of EVIDENCE_ORDER) {
    if (kind === 'passive' && evidence.passive) {
      const j = (opts.passiveJudge ?? judgePassive)(expected.state, evidence.passive);
      judgements.push({ kind, ...j, reasons: j.ok ? [] : [j.reason], warnings: [] });
    }
    if (kind === 'active' && evidence.active) judgements.push(judgeActive(evidence.active, opts));
    if (kind === 'config' && evidence.config) judgements.push(judgeConfig(evidence.config));
  }
  const basis = judgements.map((j) => j.kind);
  const many = judgements.length > 1;
  const reasons = judgements.flatMap((j) => j.reasons.map((r) => (many ? `${j.kind}: ${r}` : r)));
  const warnings = judgements.flatMap((j) => j.warnings);
  const passing = judgements.filter((j) => j.ok).map((j) => j.kind);
  const failing = judgements.filter((j) => !j.ok).map((j) => j.kind);
  if (passing.length && failing.length) {
    warnings.push(
      `evidence disagrees: ${failing.join(' and ')} ${failing.length > 1 ? 'fail' : 'fails'} while ${passing.join(
        ' and ',
      )} ${passing.length > 1 ? 'pass' : 'passes'}`,
    );
  }
  if (judgements.length === 0) reasons.push('no evidence for this path');
  const inconclusive = judgements.flatMap((j) => j.inconclusive ?? []);
  // A failure anywhere decides; otherwise an undecided check keeps the verdict from passing.
  const ok = reasons.length === 0 && inconclusive.length === 0;
  const status: VerdictStatus = reasons.length
    ? 'fail'
    : inconclusive.length
      ? 'inconclusive'
      : warnings.length
        ? 'warn'
        : 'pass';
  const reason = ok
    ? judgements.map((j) => (many ? `${j.kind}: ${j.reason}` : j.reason)).join('; ')
    : reasons.length
      ? reasons.join('; ')
      : `inconclusive: ${inconclusive.join('; ')}`;
  const v: PathVerdict = {
    path,
    expected,
    status,
    ok,
    reason,
    reasons,
    warnings,
    inconclusive,
    basis,
    judgements,
    evidence,
  };
  if (evidence.active) v.observed = evidence.active.observed;
  return v;
}

/** Verdicts for every path of a scenario, in path order; a path with no evidence fails. */
export function judgeScenario(
  scenario: Pick<Scenario, 'expected'>,
  evidence: Partial<Record<PathId, PathEvidence>>,
  opts: JudgeOptions = {},
): PathVerdict[] {
  return PATH_IDS.map((id) => judgePath(id, scenario.expected[id], evidence[id] ?? {}, opts));
}

export interface VerdictCounts {
  pass: number;
  warn: number;
  fail: number;
  inconclusive: number;
}

export function countVerdicts(vs: readonly PathVerdict[]): VerdictCounts {
  const c: VerdictCounts = { pass: 0, warn: 0, fail: 0, inconclusive: 0 };
  for (const v of vs) c[v.status]++;
  return c;
}
