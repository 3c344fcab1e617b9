import { CouldNotRunError } from '../../../scenarios/errors.ts';

/** A preflight check failed (the run cannot start, exit 3): `message` says what is wrong, `hint` what to do. */
export class PreflightError extends CouldNotRunError {
  /** Which check failed: docker, memory, ports, tools, images, cluster. */
  readonly check: string;
  constructor(check: string, message: string, hint: string) {
    super(message, hint);
    this.check = check;
  }
}

/** Several problems found at once (each with its own hint), reported together. */
export class PreflightErrors extends CouldNotRunError {
  readonly problems: readonly PreflightError[];
  constructor(problems: readonly PreflightError[]) {
    super(
      problems.length === 1
        ? problems[0]!.message
        : `${problems.length} preflight problems:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`,
      problems.length === 1
        ? problems[0]!.hint
        : problems.map((p) => `${p.message} → ${p.hint}`).join('\n  '),
    );
    this.problems = problems;
  }

  /** Every problem with its hint, for the terminal. */
  describe(): string {
    return this.problems.map((p) => `✗ ${p.message}\n  → ${p.hint}`).join('\n');
  }
}
