// Shared entry-point wrapper: bad input exits 2 with what was wrong and what to do; any other
// failure exits 1 with its message (stack only with DEBUG=1), so users never read a raw trace.
import { HintedError, UsageError } from '../../../scenarios/errors.ts';

export async function runMain(main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n  ${e.hint}\n  (see --help)\n`);
      code = 2;
    } else {
      const err = e as Error;
      // Tool, preflight, fetch and capture errors carry a hint too: what to do is half of it.
      const hint = e instanceof HintedError && e.hint ? `\n  ${e.hint}` : '';
      process.stderr.write(`error: ${err.message}${hint}\n`);
      if (process.env.DEBUG) process.stderr.write(`${err.stack}\n`);
      code = 1;
    }
  }
  // Let stdout drain before exiting (piped output would be cut otherwise).
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  process.exit(code);
}
