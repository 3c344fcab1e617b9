// Shared entry-point wrapper: every error becomes its exit code (scripts/lib/cli/exit-codes.ts)
// and a message with what to do; a stack only with DEBUG=1, so users never read a raw trace.
import { exitCodeOfError, formatError } from './exit-codes.ts';

/** Prints what an error means and returns its exit code (in-process CLIs and tests use it). */
export function reportError(e: unknown, write: (s: string) => void = (s) => process.stderr.write(s)): number {
  write(formatError(e));
  const code = exitCodeOfError(e);
  if (process.env.DEBUG && e instanceof Error) write(`${e.stack}\n`);
  return code;
}

/** Runs a command to its exit code without exiting (tests run the CLIs in-process with it). */
export async function runCommand(
  main: () => number | Promise<number>,
  write?: (s: string) => void,
): Promise<number> {
  try {
    return await main();
  } catch (e) {
    return reportError(e, write);
  }
}

export async function runMain(main: () => number | Promise<number>): Promise<never> {
  const code = await runCommand(main);
  // Let stdout drain before exiting (piped output would be cut otherwise).
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  process.exit(code);
}
