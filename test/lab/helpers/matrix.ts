// The lab run of every profile, once per test process: the lab and report tests read the same run.
import { buildScenario, PROFILE_NAMES } from '../../../scenarios/index.ts';
import { runLab } from '../../../scripts/lib/lab/lab.ts';
import type { ProfileResult } from '../../../scripts/lib/report/types.ts';
import { testHelm } from '../../../scripts/lib/tools/test-helm.ts';

let matrix: Promise<ProfileResult[]> | undefined;

export function profileMatrix(): Promise<ProfileResult[]> {
  matrix ??= (async () => {
    const out: ProfileResult[] = [];
    for (const profile of PROFILE_NAMES)
      out.push(await runLab(buildScenario({ profile }), { helm: testHelm }));
    return out;
  })();
  return matrix;
}
