// `npm run images -- --out <dir>`: builds Direktiv v0.4.1's images from source (see
// scripts/lib/images/build.ts and README "Images"). Exit 0 all built, 3 an image could not be
// built (its source blocked: the exact error per image), 2 bad input.
import { resolve } from 'node:path';
import { UsageError } from '../scenarios/errors.ts';
import { parseCli } from './lib/cli/args.ts';
import { runMain } from './lib/cli/main.ts';
import { buildImages, DEFAULT_SOURCE_DATE_EPOCH } from './lib/images/build.ts';

const HELP = `npm run images -- --out <dir> [--proof] [--only-proof]

Builds every image Direktiv v0.4.1 ships under vorteil/ (api, flow, functions, secrets, sidecar,
init-pod) from github.com/vorteil/direktiv@v0.4.1: a static CGO_ENABLED=0 build of each cmd/*,
placed and configured as its build/docker/*/Dockerfile says, as OCI image archives
(<dir>/oci: an OCI image layout; <dir>/archives/*.tar: for kind load), without Docker.
Reproducible: SOURCE_DATE_EPOCH (default ${DEFAULT_SOURCE_DATE_EPOCH}, the v0.4.1 tag day).
<dir>/images.json lists each image's digest, or why it could not be built.

  --proof        also build CNCF Distribution's registry image the same way (a served module)
  --only-proof   only that image (Direktiv's are not attempted)

Exit codes: 0 every image built, 3 an image could not be built (named, with the error), 2 bad input.
`;

await runMain(async () => {
  const { values: v } = parseCli(process.argv.slice(2), {
    out: { type: 'string' },
    proof: { type: 'boolean' },
    'only-proof': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v.out) throw new UsageError('missing --out <dir>', 'e.g. npm run images -- --out .e2e/images');
  let epoch: number | undefined;
  if (process.env.SOURCE_DATE_EPOCH !== undefined) {
    epoch = Number(process.env.SOURCE_DATE_EPOCH);
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new UsageError(
        `SOURCE_DATE_EPOCH must be seconds since 1970 (got '${process.env.SOURCE_DATE_EPOCH}')`,
        'e.g. SOURCE_DATE_EPOCH=1630627200',
      );
    }
  }
  const result = await buildImages({
    out: resolve(v.out),
    direktiv: !v['only-proof'],
    proof: Boolean(v.proof || v['only-proof']),
    ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
    log: (l) => process.stdout.write(`${l}\n`),
  });
  for (const r of result.images) {
    if (!r.configCheck) continue;
    process.stdout.write(`\n${r.ref}: image config against its Dockerfile\n`);
    for (const c of r.configCheck)
      process.stdout.write(
        `  ${c.holds ? '✓' : '✗'} ${c.field.padEnd(13)} ${c.dockerfile}${c.holds ? '' : `  (image: ${c.image})`}\n`,
      );
    process.stdout.write(`  entrypoint binary: ${r.entrypointCheck}\n`);
  }
  const built = result.images.filter((r) => r.digest).length;
  process.stdout.write(
    `\n${built} built, ${result.blocked} blocked; index: ${resolve(v.out, 'images.json')}\n`,
  );
  if (result.blocked > 0) {
    process.stderr.write(
      `error: ${result.blocked} of Direktiv's images cannot be built here: their source is not served (see above).\n` +
        '  Run the cluster with --images upstream (the 2021 images), or build where the module proxy serves github.com/vorteil/direktiv.\n',
    );
    return 3;
  }
  return 0;
});
