// --output: the plan and every file it names, so a person can apply a profile by hand.
import { renderProfileText } from '../chart/render.ts';
import type { E2eOptions } from '../cli/e2e-args.ts';
import { trafficWorkflow } from '../direktiv-api/workflow.ts';
import { writeArtifacts } from '../plan/artifacts.ts';
import type { Plan } from '../plan/types.ts';
import { helmForRendering } from './helm-path.ts';

export async function writeOutputFiles(opts: E2eOptions, plan: Plan, out: string): Promise<string[]> {
  const helmBin = await helmForRendering((l) => process.stderr.write(`${l}\n`));
  return writeArtifacts(out, {
    plan,
    options: opts,
    renderProfile: (s) => renderProfileText(s, helmBin),
    workflow: (s) =>
      trafficWorkflow({ scenario: s, knativeImage: opts.knativeImage, isolatedImage: opts.isolatedImage }),
  });
}
