// The exit-code contract of every entry point (e2e, control-plane, lab, probe, classify,
// chart-check, report, errata, tools, and any later command), in one place: the codes, what each means, which error class
// means which code, and which verdicts mean which code. README's table is checked against it.
import {
  BadInputError,
  CouldNotRunError,
  HintedError,
  InconclusiveError,
} from '../../../scenarios/errors.ts';

export const EXIT = {
  /** Every verdict holds. */
  OK: 0,
  /** A verdict failed (a path is not what the profile expects, a requirement fails, a step of the system under test failed). */
  FAILED: 1,
  /** Bad input: a usage error, or a file that cannot be read or is invalid. */
  BAD_INPUT: 2,
  /** The run could not start or finish: a tool, service or capability missing, a port taken, a build failed. */
  COULD_NOT_RUN: 3,
  /** The probes could not decide (inconclusive). */
  INCONCLUSIVE: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The README table, row by row (test/cli/exit-codes.test.ts keeps the README in step). */
export const EXIT_MEANINGS: ReadonlyArray<{ code: ExitCode; meaning: string }> = [
  { code: EXIT.OK, meaning: 'every verdict holds' },
  { code: EXIT.FAILED, meaning: 'a verdict failed' },
  {
    code: EXIT.BAD_INPUT,
    meaning:
      'bad input: a usage error, or a file that cannot be read or is invalid (one line naming the file and the field)',
  },
  {
    code: EXIT.COULD_NOT_RUN,
    meaning:
      'the run could not start or finish: a tool, service or capability missing, a port taken, a build failed (names it and how to get it)',
  },
  { code: EXIT.INCONCLUSIVE, meaning: 'the probes could not decide (inconclusive)' },
];

/**
 * The code an error means. Unclassified errors count as failures (1), never as "could not run":
 * an unknown error must not be able to hide a regression behind a broken-runner code.
 */
export function exitCodeOfError(e: unknown): ExitCode {
  if (e instanceof BadInputError) return EXIT.BAD_INPUT;
  if (e instanceof CouldNotRunError) return EXIT.COULD_NOT_RUN;
  if (e instanceof InconclusiveError) return EXIT.INCONCLUSIVE;
  return EXIT.FAILED;
}

/**
 * The code of a set of verdicts, by status: any fail is 1; else any inconclusive is 4; else 0
 * (pass and warn hold). No verdict at all is a failure: silence is never a pass. Takes plain
 * status strings so that a new status (e.g. `inconclusive`) needs no change here.
 */
export function exitCodeForStatuses(statuses: Iterable<string>): ExitCode {
  let any = false;
  let inconclusive = false;
  for (const s of statuses) {
    any = true;
    if (s === 'fail') return EXIT.FAILED;
    if (s === 'inconclusive') inconclusive = true;
  }
  if (!any) return EXIT.FAILED;
  return inconclusive ? EXIT.INCONCLUSIVE : EXIT.OK;
}

/**
 * A check's status: its own `status` when it has one; else pass when ok, inconclusive when it
 * says so (a probe check that could not decide), else fail.
 */
export function statusOf(c: { ok: boolean; status?: string; inconclusive?: boolean }): string {
  return c.status ?? (c.ok ? 'pass' : c.inconclusive ? 'inconclusive' : 'fail');
}

/** The code of a run report (lab and cluster run): its verdicts' statuses. */
export function exitCodeFor(report: {
  results: ReadonlyArray<{ verdicts: ReadonlyArray<{ status: string }> }>;
}): ExitCode {
  return exitCodeForStatuses(report.results.flatMap((r) => r.verdicts.map((v) => v.status)));
}

/**
 * What the terminal shows for an error. Bad input is ONE line (what was wrong — what to do);
 * the others name the problem and, on the next line, what to do.
 */
export function formatError(e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const hint = e instanceof HintedError && e.hint ? e.hint : '';
  if (e instanceof BadInputError) {
    const one = `${err.message}${hint ? ` — ${hint}` : ''}`.replace(/\s*\n\s*/g, ' ');
    return `error: ${one}\n`;
  }
  return `error: ${err.message}${hint ? `\n  ${hint}` : ''}\n`;
}
