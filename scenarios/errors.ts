/**
 * An error that says what was wrong (`message`) and what to do about it (`hint`). Every module's
 * user-facing errors extend it, so every entry point prints both the same way.
 */
export class HintedError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** Bad input from the user: the CLI prints `message` and `hint` and exits with code 2. */
export class UsageError extends HintedError {}
