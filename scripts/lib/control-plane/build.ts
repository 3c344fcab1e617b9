// Builds the upstream programs of the control-plane run from the project's Go modules
// (tools/upstream/<dir>/go.mod + go.sum) with the machine's Go, once: outputs are cached in
// ~/.cache/direktiv-tls-e2e/bin/<program>-<version>/, keyed by go.mod, go.sum, the Go version and
// the build flags, so a changed pin or toolchain rebuilds and nothing else does.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { type UpstreamName, type UpstreamPin, upstreamPins } from '../../../kind/versions.ts';
import { projectRoot } from '../tools/fsutil.ts';
import { ControlPlaneError } from './types.ts';

/** Cache root of the control-plane run: $E2E_CACHE_HOME or ~/.cache/direktiv-tls-e2e. */
export function cacheHome(): string {
  return process.env.E2E_CACHE_HOME ?? join(homedir(), '.cache', 'direktiv-tls-e2e');
}

export const UPSTREAM_DIR = join(projectRoot, 'tools', 'upstream');

/** Every upstream, in build order. */
export const BUILD_ORDER: readonly UpstreamName[] = ['kubernetes', 'etcd', 'kwok', 'certManager'];

/**
 * Programs the control plane needs before it can start come first; kubectl (only used for
 * commands) last, so a cold start is not held up by it.
 */
const LAST = new Set(['kubectl']);

export interface BuildOptions {
  /** Only these upstreams (default: all of BUILD_ORDER). */
  readonly only?: readonly UpstreamName[];
  /** Leave these programs out (e.g. kubectl when only the control plane must start). */
  readonly skip?: readonly string[];
  /** The `go` to use (default: `go` on PATH). */
  readonly go?: string;
  readonly signal?: AbortSignal;
}

/** Program name -> absolute path of its binary. */
export type BuiltPrograms = Record<string, string>;

// -s -w: no symbol tables (smaller, faster links); the rest as the upstream release builds.
const buildArgs = (pin: UpstreamPin) => [
  'build',
  '-trimpath',
  '-ldflags',
  ['-s', '-w', ...pin.versionFlags.map((f) => `-X ${f}`)].join(' '),
];

async function goVersion(go: string): Promise<string> {
  const r = await execa(go, ['env', 'GOVERSION'], { reject: false, stdin: 'ignore' }).catch(() => undefined);
  if (r?.exitCode !== 0 || !r.stdout.trim()) {
    throw new ControlPlaneError(
      `cannot run \`${go} env GOVERSION\`: ${(r?.stderr || 'go not found').toString().split('\n')[0]}`,
      'The control-plane run builds kube-apiserver, etcd, kwok and cert-manager from source: install Go 1.22 or newer (https://go.dev/dl/) and put `go` on PATH.',
    );
  }
  return r.stdout.trim();
}

/** The cache key of one upstream: what decides that a cached binary is still the right one. */
export async function buildKey(pin: UpstreamPin, goVer: string): Promise<string> {
  const dir = join(UPSTREAM_DIR, pin.dir);
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum']) h.update(await readFile(join(dir, f)));
  h.update(goVer);
  h.update(JSON.stringify(buildArgs(pin)));
  return h.digest('hex').slice(0, 16);
}

export function binDir(program: string, version: string): string {
  return join(cacheHome(), 'bin', `${program}-${version}`);
}

interface Stamp {
  key: string;
  module: string;
  version: string;
  go: string;
  seconds: number;
}

/**
 * Builds (or takes from the cache) every program of the pinned upstreams and returns their paths.
 * Logs one line per program: `building kube-apiserver v1.24.17 (k8s.io/kubernetes) ... 212 s`.
 */
export async function buildComponents(
  log: (line: string) => void,
  opts: BuildOptions = {},
): Promise<BuiltPrograms> {
  const go = opts.go ?? 'go';
  const goVer = await goVersion(go);
  const out: BuiltPrograms = {};
  const jobs: { pin: UpstreamPin; program: string; pkg: string }[] = [];
  for (const name of opts.only ?? BUILD_ORDER) {
    const pin: UpstreamPin = upstreamPins[name];
    for (const [program, pkg] of Object.entries(pin.programs)) {
      if (!opts.skip?.includes(program)) jobs.push({ pin, program, pkg });
    }
  }
  jobs.sort((a, b) => Number(LAST.has(a.program)) - Number(LAST.has(b.program)));
  const keys = new Map<UpstreamPin, string>();
  for (const { pin, program, pkg } of jobs) {
    const key = keys.get(pin) ?? (await buildKey(pin, goVer));
    keys.set(pin, key);
    const dir = binDir(program, pin.version);
    const bin = join(dir, program);
    const stamp = await readFile(join(dir, 'stamp.json'), 'utf8')
      .then((t) => JSON.parse(t) as Stamp)
      .catch(() => undefined);
    if (stamp?.key === key && existsSync(bin)) {
      out[program] = bin;
      continue;
    }
    out[program] = await buildOne({ go, goVer, pin, program, pkg, dir, key, log, signal: opts.signal });
  }
  return out;
}

async function buildOne(a: {
  go: string;
  goVer: string;
  pin: UpstreamPin;
  program: string;
  pkg: string;
  dir: string;
  key: string;
  log: (line: string) => void;
  signal?: AbortSignal;
}): Promise<string> {
  const { pin, program } = a;
  const what = `${program} ${pin.version} (${pin.module})`;
  a.log(`building ${what} ...`);
  const started = Date.now();
  const tmp = `${a.dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  // nice: the machines that run this are small and shared; CGO off: static binaries, no C toolchain.
  const r = await execa('nice', ['-n', '10', a.go, ...buildArgs(pin), '-o', join(tmp, program), a.pkg], {
    cwd: join(UPSTREAM_DIR, pin.dir),
    env: { CGO_ENABLED: '0', GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local' },
    reject: false,
    stdin: 'ignore',
    all: true,
    cancelSignal: a.signal,
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (r.exitCode !== 0) {
    await rm(tmp, { recursive: true, force: true });
    const tail = String(r.all ?? '')
      .trim()
      .split('\n')
      .slice(-15)
      .join('\n  ');
    throw new ControlPlaneError(
      `building ${what} failed after ${seconds} s (${a.goVer}):\n  ${tail}`,
      `Build it by hand to see everything: cd tools/upstream/${pin.dir} && CGO_ENABLED=0 go build ${a.pkg}. ` +
        'A dependency this Go refuses is raised in that go.mod (see tools/upstream/README.md).',
    );
  }
  const stamp: Stamp = { key: a.key, module: pin.module, version: pin.version, go: a.goVer, seconds };
  await chmod(join(tmp, program), 0o755);
  await writeFile(join(tmp, 'stamp.json'), `${JSON.stringify(stamp, null, 2)}\n`);
  await rm(a.dir, { recursive: true, force: true });
  await mkdir(join(a.dir, '..'), { recursive: true });
  await rename(tmp, a.dir);
  a.log(`building ${what} ... ${seconds} s`);
  return join(a.dir, program);
}
