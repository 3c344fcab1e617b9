// `npm run image-preflight`: every image a run needs, resolved to a digest without Docker and
// without a cluster (registry API v2). Exit 0 all resolved, 3 an image missing or a registry not
// reachable (each named), 2 bad input. See README "Images".
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadImageOverrides } from '../kind/images.ts';
import { UsageError } from '../scenarios/errors.ts';
import { parseCli } from './lib/cli/args.ts';
import { runMain } from './lib/cli/main.ts';
import { DEFAULT_ISOLATED_IMAGE, DEFAULT_KNATIVE_IMAGE } from './lib/direktiv-api/workflow.ts';
import { checkImages, type ImageMode, imageCheckTable } from './lib/preflight/image-check.ts';
import { imagesToPull } from './lib/preflight/images.ts';
import { RegistryClient } from './lib/registry/client.ts';

const HELP = `npm run image-preflight -- [options]

Resolves every image a run needs (kind/images.yaml, the traffic function images) to a digest with
the registry API v2 (HEAD /v2/<name>/manifests/<ref>, Bearer token challenge answered). No Docker,
no cluster. The e2e run does the same check before it creates anything, adding the images it
renders from the charts.

  --images upstream|built   built: Direktiv's own images come from npm run images (default upstream)
  --built-dir <dir>         output folder of npm run images (default .e2e/images)
  --images-file <file>      another kind/images.yaml
  --knative-image <ref>     the Knative traffic function image (as npm run e2e)
  --isolated-image <ref>    the pod traffic function image (as npm run e2e)
  --ca <pem-file>           trust these roots instead of Node's (a private registry's CA)
  --json <file|->           write the rows as JSON (- for stdout, then no table)
  --timeout <seconds>       per request (default 15)

Exit codes: 0 every image resolved, 3 an image is missing or its registry cannot be reached
(each is named with the kind/images.yaml key to change), 2 bad input.
`;

await runMain(async () => {
  const { values: v } = parseCli(process.argv.slice(2), {
    images: { type: 'string' },
    'built-dir': { type: 'string' },
    'images-file': { type: 'string' },
    'knative-image': { type: 'string' },
    'isolated-image': { type: 'string' },
    ca: { type: 'string' },
    json: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const mode = (v.images ?? 'upstream') as ImageMode;
  if (mode !== 'upstream' && mode !== 'built') {
    throw new UsageError(`--images must be upstream or built (got '${v.images}')`, 'e.g. --images upstream');
  }
  const timeout = v.timeout === undefined ? 15 : Number(v.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new UsageError(
      `--timeout must be a positive number of seconds (got '${v.timeout}')`,
      'e.g. --timeout 15',
    );
  }
  let ca: string | undefined;
  if (v.ca) {
    try {
      ca = readFileSync(v.ca, 'utf8');
    } catch (e) {
      throw new UsageError(`--ca ${v.ca}: ${(e as Error).message}`, 'give a PEM file of CA certificates');
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new UsageError(`--ca ${v.ca}: no PEM certificate in it`, 'give a PEM file of CA certificates');
    }
  }
  const overrides = v['images-file'] ? loadImageOverrides(resolve(v['images-file'])) : loadImageOverrides();
  const images = imagesToPull(overrides, [
    v['knative-image'] ?? DEFAULT_KNATIVE_IMAGE,
    v['isolated-image'] ?? DEFAULT_ISOLATED_IMAGE,
  ]);
  const client = new RegistryClient({ ...(ca ? { ca } : {}), timeoutMs: timeout * 1000 });
  try {
    const rows = await checkImages(images, {
      client,
      overrides,
      mode,
      builtDir: resolve(v['built-dir'] ?? '.e2e/images'),
    });
    const ok = rows.every((r) => r.ok);
    const json = `${JSON.stringify({ mode, ok, images: rows }, null, 2)}\n`;
    if (v.json === '-') process.stdout.write(json);
    else {
      process.stdout.write(imageCheckTable(rows));
      if (v.json) await writeFile(v.json, json);
    }
    return ok ? 0 : 3;
  } finally {
    await client.close();
  }
});
