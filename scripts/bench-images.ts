// `npm run bench:images`: time to build the images that can be built here, cold (empty Go build
// cache and binary cache) and warm (both cached), twice warm to show the digests repeat, their
// sizes, and the sizes of the 2021 upstream images from their manifests where the registry
// answers (else "unknown" with why). Direktiv's own images are reported blocked with the proxy's
// error: their source is not served. `--no-cold` skips the cold build (minutes on 2 cores).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtImages } from '../kind/built-images.ts';
import { runMain } from './lib/cli/main.ts';
import { buildImages, PROOF_KEY } from './lib/images/build.ts';
import { RegistryClient } from './lib/registry/client.ts';

const mib = (n?: number) => (n === undefined ? 'unknown' : `${(n / 1024 / 1024).toFixed(1)} MiB`);

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = Date.now();
  const r = await f();
  return [r, (Date.now() - t) / 1000];
}

await runMain(async () => {
  const cold = !process.argv.includes('--no-cold');
  const out = mkdtempSync(join(tmpdir(), 'bench-images-'));
  const lines: string[] = [`machine: ${cpus().length} cores, ${cpus()[0]?.model ?? '?'}`];
  const log = (l: string) => process.stderr.write(`  ${l}\n`);
  try {
    if (cold) {
      // Cold: the Go build cache and the binary cache both empty (a fresh machine with the module
      // cache already downloaded).
      const cache = mkdtempSync(join(tmpdir(), 'bench-cold-'));
      const saved = { GOCACHE: process.env.GOCACHE, E2E_CACHE_HOME: process.env.E2E_CACHE_HOME };
      process.env.GOCACHE = join(cache, 'go-build');
      process.env.E2E_CACHE_HOME = join(cache, 'e2e');
      try {
        const [, s] = await timed(() =>
          buildImages({ out: join(out, 'cold'), direktiv: false, proof: true, log }),
        );
        lines.push(
          `cold build (registry + images tool compiled from an empty Go cache, image assembled): ${s.toFixed(1)} s`,
        );
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
        rmSync(cache, { recursive: true, force: true });
      }
    }
    // Warm twice: binaries cached, only the image is assembled; the digests must repeat.
    await buildImages({ out: join(out, 'prime'), direktiv: false, proof: true, log });
    const [a, s1] = await timed(() => buildImages({ out: join(out, 'warm1'), direktiv: false, proof: true }));
    const [b, s2] = await timed(() => buildImages({ out: join(out, 'warm2'), direktiv: false, proof: true }));
    const da = a.images.find((r) => r.key === PROOF_KEY);
    const db = b.images.find((r) => r.key === PROOF_KEY);
    lines.push(`warm build (binaries cached): ${s1.toFixed(1)} s and ${s2.toFixed(1)} s`);
    lines.push(
      `reproducible: ${da?.digest === db?.digest ? 'yes' : 'NO'} (${da?.digest} / ${db?.digest})`,
      `built ${da?.ref}: ${mib(da?.size)} stored (compressed layers + config)`,
    );
    const direktiv = await buildImages({ out: join(out, 'direktiv'), proof: false });
    const client = new RegistryClient({ timeoutMs: 10_000 });
    lines.push(
      '',
      'image                                 built                      2021 upstream (linux/amd64, from its manifest)',
    );
    for (const img of builtImages) {
      const rec = direktiv.images.find((r) => r.key === img.key);
      let upstream: string;
      try {
        upstream = mib((await client.imageSize(img.ref)).bytes);
      } catch (e) {
        upstream = `unknown (${(e as Error).message.split('\n')[0]})`;
      }
      const built = rec?.digest
        ? mib(rec.size)
        : `blocked (${rec?.blocked?.split('\n')[0]?.replace(/^.*: /, '') ?? '?'})`;
      lines.push(`${img.ref.padEnd(38)}${built.padEnd(27)}${upstream}`);
    }
    await client.close();
    process.stdout.write(`${lines.join('\n')}\n`);
    return da?.digest === db?.digest ? 0 : 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
