// Property-based "bad input" tests (fast-check): every property prints one line
// `fuzz <name>: N cases, seed S`, so a failure seen in CI can be replayed exactly.
// FUZZ_SEED=<n> replays a seed; FUZZ_RUNS=<n> runs n cases per property (longer local runs).
// The fast tier keeps the default counts small (a few seconds in all).
import fc from 'fast-check';

const envSeed = process.env.FUZZ_SEED;
const envRuns = process.env.FUZZ_RUNS;
if (envSeed !== undefined && !/^-?\d+$/.test(envSeed))
  throw new Error(`FUZZ_SEED must be an integer, got '${envSeed}'`);
if (envRuns !== undefined && !/^\d+$/.test(envRuns))
  throw new Error(`FUZZ_RUNS must be a count, got '${envRuns}'`);

/** One seed per test process (printed with every property), unless FUZZ_SEED fixes it. */
export const FUZZ_SEED =
  envSeed !== undefined ? Number(envSeed) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;

/** No case may take longer: a bound that catches a (near) hang, not a speed measurement. */
export const CASE_LIMIT_MS = 10_000;

function report(name: string, d: fc.RunDetails<unknown>): void {
  process.stdout.write(`fuzz ${name}: ${d.numRuns} cases, seed ${d.seed}\n`);
  if (d.failed) {
    throw new Error(
      `fuzz ${name} failed (replay: FUZZ_SEED=${d.seed} npm test)\n${fc.defaultReportMessage(d) ?? ''}`,
    );
  }
}

function params(runs: number): fc.Parameters<unknown> {
  // timeout: an async case that does not settle in time fails (sync cases: see fuzz()).
  return {
    seed: FUZZ_SEED,
    numRuns: envRuns !== undefined ? Number(envRuns) : runs,
    plugins: [fc.timeout(CASE_LIMIT_MS)],
  };
}

/** Checks a synchronous property; `runs` is the fast tier's case count. */
export function fuzz<T>(name: string, runs: number, arb: fc.Arbitrary<T>, check: (v: T) => void): void {
  const prop = fc.property(arb, (v) => {
    const t0 = performance.now();
    check(v);
    const ms = performance.now() - t0;
    if (ms > CASE_LIMIT_MS) throw new Error(`one case took ${Math.round(ms)} ms (limit ${CASE_LIMIT_MS})`);
  });
  report(name, fc.check(prop, params(runs)) as fc.RunDetails<unknown>);
}

/** Checks an asynchronous property; a case that does not settle within CASE_LIMIT_MS fails. */
export async function fuzzAsync<T>(
  name: string,
  runs: number,
  arb: fc.Arbitrary<T>,
  check: (v: T) => Promise<void>,
): Promise<void> {
  const prop = fc.asyncProperty(arb, check);
  report(name, (await fc.check(prop, params(runs))) as fc.RunDetails<unknown>);
}

export { fc };
