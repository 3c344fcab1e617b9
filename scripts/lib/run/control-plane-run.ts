// The control-plane command: options -> the control-plane plan (the kind plan with the cluster
// swapped) -> (dry run: print it) -> the same executor and step code with the control-plane
// driver -> reports. --down stops what a --keep left running and says what, if anything, is left.
import { join } from 'node:path';
import type { ControlPlaneOptions } from '../cli/control-plane-args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { controlPlaneDriver } from '../cluster/control-plane.ts';
import { buildControlPlanePlan } from '../cluster/control-plane-plan.ts';
import { defaultStateDir, downKept } from '../control-plane/index.ts';
import { renderPlan } from '../plan/render.ts';
import { type ClusterRunDeps, runCluster } from './cluster-run.ts';
import { writeOutputFiles } from './output.ts';

export function defaultControlPlaneOutput(stateDir: string, now = new Date()): string {
  return join(stateDir, '..', 'runs', now.toISOString().replace(/[:.]/g, '-'));
}

export async function runControlPlane(
  opts: ControlPlaneOptions,
  deps: Omit<ClusterRunDeps, 'driver' | 'writeFiles'> = {},
): Promise<number> {
  const print = deps.out ?? ((s: string) => process.stdout.write(s));
  const stateDir = opts.stateDir ?? defaultStateDir();
  if (opts.down) {
    const r = await downKept(stateDir);
    for (const s of r.stopped) print(`stopped ${s}\n`);
    if (r.leftovers.length) {
      for (const l of r.leftovers) print(`left behind: ${l}\n`);
      return EXIT.FAILED;
    }
    print(
      `${r.stopped.length ? '' : 'nothing was kept; '}nothing left behind (processes, ports, mounts, temporary folders)\n`,
    );
    return EXIT.OK;
  }
  const plan = buildControlPlanePlan({ ...opts, stateDir });
  if (opts.dryRun) {
    if (opts.output) {
      const written = await writeOutputFiles(opts, plan, opts.output);
      process.stderr.write(`wrote ${written.length} files to ${opts.output}\n`);
    }
    print(renderPlan(plan));
    return EXIT.OK;
  }
  const out = opts.output ?? defaultControlPlaneOutput(stateDir);
  return runCluster({ ...opts, output: out }, plan, {
    ...deps,
    driver: controlPlaneDriver({ stateDir }),
    writeFiles: () => writeOutputFiles(opts, plan, out),
  });
}
