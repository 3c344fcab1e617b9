// Builds one of the project's own Go programs (tools/images: its main.go, go.mod and committed
// go.sum) into ~/.cache/direktiv-tls-e2e/bin/<name>-<version>-<key>, once per key: static
// (CGO_ENABLED=0), trimmed, under `nice`. Upstream programs (the registry) are built by
// scripts/lib/control-plane/build.ts from kind/versions.ts upstreamPins. A failed build is exit 3.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CouldNotRunError } from '../../../scenarios/errors.ts';
import { cacheHome } from '../control-plane/build.ts';
import { projectRoot } from './fsutil.ts';

/** A program could not be built (no Go, the proxy refused a module, a compile error): exit 3. */
export class GoBuildError extends CouldNotRunError {}

const binCache = () => join(cacheHome(), 'bin');

export interface GoProgram {
  /** Binary name in the cache. */
  readonly name: string;
  /** Module folder relative to the project root (holds go.mod and go.sum). */
  readonly moduleDir: string;
  /** Package to build: `.` or an import path such as github.com/distribution/distribution/v3/cmd/registry. */
  readonly pkg: string;
  /** The module whose version (read from go.mod: one source of truth) names the binary. */
  readonly module: string;
}

/** The version go.mod requires of a module. */
export function moduleVersion(p: GoProgram): string {
  const mod = readFileSync(join(projectRoot, p.moduleDir, 'go.mod'), 'utf8');
  const esc = p.module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const m = new RegExp(`^\\s*(?:require\\s+)?${esc}\\s+(v\\S+)`, 'm').exec(mod);
  if (!m?.[1]) throw new Error(`${p.moduleDir}/go.mod does not require ${p.module}`);
  return m[1];
}

export function cachedBinary(p: GoProgram): string {
  const dir = join(projectRoot, p.moduleDir);
  const sum = createHash('sha256')
    .update(readFileSync(join(dir, 'go.mod')))
    .update(existsSync(join(dir, 'go.sum')) ? readFileSync(join(dir, 'go.sum')) : '')
    // A local package's own sources are part of what is built.
    .update(p.pkg === '.' ? readLocalSources(dir) : '')
    .digest('hex')
    .slice(0, 12);
  return join(binCache(), `${p.name}-${moduleVersion(p)}-${sum}`);
}

function readLocalSources(dir: string): string {
  const main = join(dir, 'main.go');
  return existsSync(main) ? readFileSync(main, 'utf8') : '';
}

/** The binary, built now if the cache has none for this key. */
export async function ensureGoBinary(
  p: GoProgram,
  log: (line: string) => void = () => {},
): Promise<{ path: string; built: boolean; seconds: number }> {
  const out = cachedBinary(p);
  if (existsSync(out)) return { path: out, built: false, seconds: 0 };
  mkdirSync(binCache(), { recursive: true });
  const version = moduleVersion(p);
  log(`building ${p.name} ${version} (${p.pkg}) into ${out}`);
  const started = Date.now();
  const tmp = `${out}.tmp-${process.pid}`;
  const r = await execa(
    'nice',
    ['-n', '10', 'go', 'build', '-trimpath', '-ldflags', '-s -w', '-o', tmp, p.pkg],
    {
      cwd: join(projectRoot, p.moduleDir),
      env: { CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false' },
      reject: false,
      all: true,
    },
  ).catch((e: Error) => ({ exitCode: -1, all: e.message }));
  if (r.exitCode !== 0) {
    const missingGo = /ENOENT|not found/.test(String(r.all)) && r.exitCode === -1;
    throw new GoBuildError(
      `cannot build ${p.name} ${version} (${p.pkg}): ${String(r.all ?? '')
        .trim()
        .split('\n')
        .slice(-8)
        .join('\n')}`,
      missingGo
        ? 'install Go 1.23 or newer (https://go.dev/dl/) and make sure the Go module proxy is reachable'
        : `the build ran in ${p.moduleDir}; the module proxy must serve every module in its go.sum`,
    );
  }
  renameSync(tmp, out);
  return { path: out, built: true, seconds: (Date.now() - started) / 1000 };
}

/** The image builder and pusher (tools/images, go-containerregistry). */
export const imagesProgram: GoProgram = {
  name: 'images',
  moduleDir: 'tools/images',
  pkg: '.',
  module: 'github.com/google/go-containerregistry',
};
