/**
 * An error that says what was wrong (`message`) and what to do about it (`hint`). Every module's
 * user-facing errors extend it, so every entry point prints both the same way. Which exit code an
 * error means is decided in one place: scripts/lib/cli/exit-codes.ts (by the class below it
 * extends; a plain HintedError is a failure, exit 1).
 */
export class HintedError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/**
 * Bad input (exit 2): a file that cannot be read or is invalid. The message names the file and
 * the field, so one line says what is wrong and where.
 */
export class BadInputError extends HintedError {
  readonly file: string | undefined;
  readonly field: string | undefined;
  constructor(file: string | undefined, field: string | undefined, problem: string, hint: string) {
    super([file, field, problem].filter((x) => x !== undefined && x !== '').join(': '), hint);
    this.file = file;
    this.field = field;
  }
}

/** Bad input on the command line (a flag, its value, a missing argument): exit 2. */
export class UsageError extends BadInputError {
  constructor(message: string, hint: string) {
    super(undefined, undefined, message, hint);
  }
}

/**
 * The run could not start or could not finish (exit 3): a tool or service missing, a capability
 * missing (tcpdump not permitted), a port taken, a component build failed. The message names the
 * missing thing; the hint says how to get it.
 */
export class CouldNotRunError extends HintedError {}

/** The probes ran but could not decide (exit 4): e.g. the server refuses the real client too. */
export class InconclusiveError extends HintedError {}
