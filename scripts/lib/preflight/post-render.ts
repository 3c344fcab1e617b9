// Helm post-renderer: rewrites hard-coded image references in rendered manifests to the `use`
// references of kind/images.yaml (for images no chart value can change, e.g. Knative's digests).
// Helm runs it as: node --import <tsx> post-render.ts [images.yaml] < manifests > manifests
import { fileURLToPath } from 'node:url';
import {
  type ImageOverrides,
  type ImageVia,
  imagesFile,
  loadImageOverrides,
  rewriteImages,
} from '../../../kind/images.ts';

const self = fileURLToPath(import.meta.url);

/** True when some image of this chart is overridden through the post-renderer. */
export function needsPostRenderer(
  o: ImageOverrides,
  chart: string,
  via: ImageVia = 'post-renderer',
): boolean {
  return o.images.some((e) => e.chart === chart && e.via === via && e.use !== e.original);
}

/**
 * Flags for `helm install/upgrade/template`. The `--flag=value` form matters: helm would read a
 * separate `--import` as one of its own flags.
 */
export function postRendererFlags(file: string = imagesFile): string[] {
  const args = ['--import', import.meta.resolve('tsx'), self, file];
  return ['--post-renderer', process.execPath, ...args.map((a) => `--post-renderer-args=${a}`)];
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const o = loadImageOverrides(process.argv[2] ?? imagesFile);
  process.stdout.write(rewriteImages(Buffer.concat(chunks).toString('utf8'), o, ['post-renderer']));
}

if (process.argv[1] === self) {
  main().catch((e: unknown) => {
    process.stderr.write(`image post-renderer: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
