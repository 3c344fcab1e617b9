// The e2e command: options -> plan -> (dry run: print it) -> preflight -> execution -> evidence
// -> verdicts -> reports. This module wires the layers; each layer lives in its own module.
import { readBundle } from '../bundle/index.ts';
import { type E2eOptions, parseE2eArgs } from '../cli/e2e-args.ts';
import { E2E_HELP } from '../cli/e2e-help.ts';
import { buildPlan } from '../plan/build.ts';
import { renderPlan } from '../plan/render.ts';
import { defaultOutput, runCluster } from './cluster-run.ts';
import { writeOutputFiles } from './output.ts';
import { runImages } from './steps-install.ts';

/** The whole command from its arguments (the entry point and the in-process tests run this). */
export async function e2eMain(argv: string[]): Promise<number> {
  const opts = parseE2eArgs(argv);
  if (opts.help) {
    process.stdout.write(E2E_HELP);
    return 0;
  }
  return runE2e(opts);
}

export async function runE2e(given: E2eOptions): Promise<number> {
  let opts = given;
  if (given.replay) {
    const replay = readBundle(given.replay);
    process.stderr.write(`replaying ${replay.bundle} (recorded ${replay.recorded.createdAt})\n`);
    opts = { ...replay, dryRun: given.dryRun || replay.dryRun };
  }
  const plan = buildPlan(opts, { images: runImages(opts).map((i) => i.ref) });
  if (opts.dryRun) {
    if (opts.output) {
      const written = await writeOutputFiles(opts, plan, opts.output);
      process.stderr.write(`wrote ${written.length} files to ${opts.output}\n`);
    }
    process.stdout.write(renderPlan(plan));
    return 0;
  }
  const out = opts.output ?? defaultOutput(opts.clusterName);
  return runCluster({ ...opts, output: out }, plan, { writeFiles: () => writeOutputFiles(opts, plan, out) });
}
