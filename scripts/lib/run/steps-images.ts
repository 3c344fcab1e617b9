// Actions of the `--images built` steps (scripts/lib/plan/built-images.ts). images.build is real:
// it builds Direktiv's images from source or stops the run with exit 3, naming each image and why
// (here: the module proxy refuses github.com/vorteil/direktiv@v0.4.1). Serving them to the kind
// node (registry.start on the kind network's gateway, registry.push, the mirror with the registry's
// CA) is planned but not executed by this version: it stops with exit 3 saying so, rather than
// pretending; the registry, its token auth and the push are tested on loopback (test/registry/).
import { join } from 'node:path';
import { CouldNotRunError } from '../../../scenarios/errors.ts';
import { buildImages } from '../images/build.ts';
import type { Action } from './steps-install.ts';

const notYet = (what: string) =>
  new CouldNotRunError(
    `--images built: ${what} is not implemented for a kind cluster in this version of the harness`,
    'run with --images upstream; the registry, its token auth and the push are tested on loopback (npm run test:registry)',
  );

export const imageActions: Record<string, Action> = {
  async 'images.build'(ctx, _step, s) {
    const result = await buildImages({ out: join(ctx.out, 'images'), log: s.note });
    if (result.blocked > 0) {
      const lines = result.images.filter((r) => r.blocked).map((r) => `  ${r.ref} (${r.key}): ${r.blocked}`);
      throw new CouldNotRunError(
        `${result.blocked} of Direktiv's images cannot be built from source:\n${lines.join('\n')}`,
        'run with --images upstream (the 2021 images), or where the Go module proxy serves github.com/vorteil/direktiv@v0.4.1',
      );
    }
  },
  async 'registry.start'() {
    throw notYet('serving the built images to the node (registry on the kind network gateway)');
  },
  async 'registry.push'() {
    throw notYet('pushing the built images to the node-facing registry');
  },
};
