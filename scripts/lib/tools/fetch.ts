// kind, helm and kubectl for this machine: from the cache, else a binary on PATH of exactly the
// pinned version, else the official download, sha256-verified and cached in `.cache/tools/`.
//
// Verification: a checksum pinned in kind/versions.ts wins. Without one (a platform nobody could
// check offline) the release's own checksum file is fetched, the download is verified against it,
// and the value is recorded in `.cache/tools/tools.lock.json`; later downloads must match that
// record (trust on first use). Pin the recorded value in kind/versions.ts to make it permanent.

import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import {
  hostPlatform,
  type Platform,
  type ToolName,
  type ToolPin,
  toolPins,
} from '../../../kind/versions.ts';
import { CouldNotRunError } from '../../../scenarios/errors.ts';
import { publish, removeQuietly, scratchDirFor, sha256File, toolsCacheDir } from './fsutil.ts';
import { execaRunner, firstLines, type Runner } from './runner.ts';

/** A tool could not be found, downloaded or verified: the run cannot start (exit 3). */
export class ToolError extends CouldNotRunError {}

export interface ToolOptions {
  readonly platform?: Platform;
  /** Replaces the pin's base URL (tests serve downloads on loopback); also $E2E_<TOOL>_BASE_URL. */
  readonly baseUrl?: string;
  readonly cacheDir?: string;
  readonly runner?: Runner;
  /** Abort a download when no byte arrived for this long. */
  readonly idleTimeoutMs?: number;
  /** The PATH to search for an installed binary (default: $PATH). */
  readonly pathEnv?: string;
  /** Replaces the pin (tests: a pin without checksums exercises trust-on-first-use). */
  readonly pin?: ToolPin;
  readonly log?: (line: string) => void;
}

export type ToolSource = 'cache' | 'path' | 'download';
export type VerifiedBy = 'pinned' | 'tofu-lock' | 'tofu-new';

export interface ResolvedTool {
  readonly name: ToolName;
  readonly version: string;
  readonly path: string;
  readonly source: ToolSource;
  /** How the cached/downloaded binary was verified (not set for a binary on PATH). */
  readonly verifiedBy?: VerifiedBy;
  readonly assetSha256?: string;
}

interface CacheMeta {
  name: string;
  version: string;
  platform: Platform;
  url: string;
  assetSha256: string;
  binarySha256: string;
  verifiedBy: VerifiedBy;
  fetchedAt: string;
}

export function pinFor(name: ToolName, opts: ToolOptions = {}): ToolPin {
  return opts.pin ?? toolPins[name];
}

function platformOf(opts: ToolOptions): Platform {
  const p = opts.platform ?? hostPlatform();
  if (!p) {
    throw new ToolError(
      `no official kind/helm/kubectl build for ${process.platform}/${process.arch}`,
      'The harness supports Linux and macOS on amd64 and arm64.',
    );
  }
  return p;
}

function expand(template: string, pin: ToolPin, platform: Platform): string {
  const [os, arch] = platform.split('-') as [string, string];
  return template.replaceAll('{version}', pin.version).replaceAll('{os}', os).replaceAll('{arch}', arch);
}

function baseUrlOf(pin: ToolPin, opts: ToolOptions): string {
  return (opts.baseUrl ?? process.env[pin.baseUrlEnv] ?? pin.baseUrl).replace(/\/+$/, '');
}

export function assetUrl(pin: ToolPin, platform: Platform, base: string = pin.baseUrl): string {
  return `${base.replace(/\/+$/, '')}/${expand(pin.assetPath, pin, platform)}`;
}

export function checksumUrl(pin: ToolPin, platform: Platform, base: string = pin.baseUrl): string {
  return `${base.replace(/\/+$/, '')}/${expand(pin.checksumPath, pin, platform)}`;
}

export function toolDir(name: ToolName, opts: ToolOptions = {}): string {
  return join(opts.cacheDir ?? toolsCacheDir(), `${name}-${pinFor(name, opts).version}`);
}

export function lockFile(opts: ToolOptions = {}): string {
  return join(opts.cacheDir ?? toolsCacheDir(), 'tools.lock.json');
}

/** The version a tool binary reports, parsed from its own version command. */
export function parseVersionOutput(name: ToolName, stdout: string): string | undefined {
  const text = stdout.trim();
  switch (name) {
    case 'kind':
      // `kind v0.22.0 go1.21.7 linux/amd64`
      return /^kind (v\d+\.\d+\.\d+(?:-[0-9A-Za-z.+-]+)?)\b/.exec(text)?.[1];
    case 'helm':
      // `v3.17.3+ge4da497` (`helm version --short`)
      return /^(v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+\S*)?$/m.exec(text)?.[1];
    case 'kubectl': {
      // `kubectl version --client -o json` -> {"clientVersion": {"gitVersion": "v1.24.17", ...}}
      try {
        const v = (JSON.parse(text) as { clientVersion?: { gitVersion?: unknown } }).clientVersion
          ?.gitVersion;
        return typeof v === 'string' ? v : undefined;
      } catch {
        return undefined;
      }
    }
  }
}

const versionArgs: Record<ToolName, readonly string[]> = {
  kind: ['version'],
  helm: ['version', '--short'],
  kubectl: ['version', '--client', '-o', 'json'],
};

export async function toolVersion(
  name: ToolName,
  bin: string,
  runner: Runner = execaRunner,
): Promise<string | undefined> {
  const r = await runner(bin, versionArgs[name], { timeoutMs: 20_000 });
  if (r.exitCode !== 0) return undefined;
  return parseVersionOutput(name, r.stdout);
}

async function isExecutable(p: string): Promise<boolean> {
  try {
    await access(p, fsConstants.X_OK);
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** A binary on PATH of exactly the pinned version, or undefined (mismatches are logged and skipped). */
export async function findOnPath(name: ToolName, opts: ToolOptions = {}): Promise<string | undefined> {
  const pin = pinFor(name, opts);
  const runner = opts.runner ?? execaRunner;
  const cacheRoot = opts.cacheDir ?? toolsCacheDir();
  for (const dir of (opts.pathEnv ?? process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.startsWith(cacheRoot)) continue;
    const candidate = join(dir, name);
    if (!(await isExecutable(candidate))) continue;
    const got = await toolVersion(name, candidate, runner);
    if (got === pin.version) return candidate;
    opts.log?.(
      `ignoring ${candidate}: it reports ${got ?? 'no parsable version'}, the harness pins ${pin.version}`,
    );
  }
  return undefined;
}

async function readMeta(dir: string): Promise<CacheMeta | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as CacheMeta;
  } catch {
    return undefined;
  }
}

/** The cached binary if it is intact and matches the current pin, else undefined. */
export async function cachedTool(name: ToolName, opts: ToolOptions = {}): Promise<ResolvedTool | undefined> {
  const pin = pinFor(name, opts);
  const platform = platformOf(opts);
  const dir = toolDir(name, opts);
  const meta = await readMeta(dir);
  const bin = join(dir, name);
  if (!meta || meta.platform !== platform || meta.version !== pin.version) return undefined;
  const pinned = pin.sha256[platform];
  if (pinned && meta.assetSha256 !== pinned) return undefined;
  if (!(await isExecutable(bin)) || (await sha256File(bin)) !== meta.binarySha256) return undefined;
  return {
    name,
    version: pin.version,
    path: bin,
    source: 'cache',
    verifiedBy: meta.verifiedBy,
    assetSha256: meta.assetSha256,
  };
}

/** Cache, then PATH (exact version), then the official download. */
export async function resolveTool(name: ToolName, opts: ToolOptions = {}): Promise<ResolvedTool> {
  const cached = await cachedTool(name, opts);
  if (cached) return cached;
  const onPath = await findOnPath(name, opts);
  if (onPath) return { name, version: pinFor(name, opts).version, path: onPath, source: 'path' };
  return await downloadTool(name, opts);
}

/** Cache, else the official download (ignores PATH: `npm run tools -- fetch`). */
export async function fetchTool(name: ToolName, opts: ToolOptions = {}): Promise<ResolvedTool> {
  return (await cachedTool(name, opts)) ?? (await downloadTool(name, opts));
}

type Lock = Record<string, { sha256: string; url: string; checksumUrl: string; recordedAt: string }>;

async function readLock(opts: ToolOptions): Promise<Lock> {
  try {
    return JSON.parse(await readFile(lockFile(opts), 'utf8')) as Lock;
  } catch {
    return {};
  }
}

async function recordInLock(opts: ToolOptions, key: string, entry: Lock[string]): Promise<void> {
  const file = lockFile(opts);
  const lock = await readLock(opts);
  lock[key] = entry;
  await mkdir(join(file, '..'), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(lock, null, 2)}\n`);
  await rename(tmp, file);
}

/** Parses a release checksum file: `<hex>  <name>` (sha256sum) or just `<hex>`. */
export function parseChecksumFile(
  text: string,
  format: ToolPin['checksumFormat'],
  assetName: string,
): string | undefined {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const line of lines) {
    const m = /^([0-9a-fA-F]{64})(?:\s+\*?(\S+))?$/.exec(line);
    if (!m) continue;
    if (format === 'bare' || !m[2] || m[2].split('/').pop() === assetName) return m[1]!.toLowerCase();
  }
  return undefined;
}

async function httpGet(url: string, idleMs: number): Promise<Response> {
  const ac = new AbortController();
  const timer = setTimeout(
    () => ac.abort(new Error(`no answer within ${Math.round(idleMs / 1000)} s`)),
    idleMs,
  );
  try {
    const res = await fetch(url, { signal: ac.signal, redirect: 'follow' });
    return res;
  } finally {
    clearTimeout(timer);
  }
}

function networkError(url: string, e: unknown, name: string, pin: ToolPin, dest: string): ToolError {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const why = err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
  return new ToolError(
    `could not download ${url}: ${why}`,
    `Check the network connection (Node's fetch honours HTTPS_PROXY only with NODE_USE_ENV_PROXY=1 on newer Node). ` +
      `Or download it by hand: curl -fL -o ${dest} ${url}; chmod +x it, and run \`npm run tools -- verify ${name}\`; ` +
      `or put ${name} ${pin.version} on PATH.`,
  );
}

/** Streams url to file, hashing as it goes; aborts when no byte arrives for idleMs. */
async function download(url: string, file: string, idleMs: number): Promise<string> {
  const ac = new AbortController();
  let timer = setTimeout(
    () => ac.abort(new Error(`stalled: no data for ${Math.round(idleMs / 1000)} s`)),
    idleMs,
  );
  const bump = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => ac.abort(new Error(`stalled: no data for ${Math.round(idleMs / 1000)} s`)),
      idleMs,
    );
  };
  const fh = await open(file, 'w');
  try {
    const res = await fetch(url, { signal: ac.signal, redirect: 'follow' });
    if (!res.ok || !res.body)
      throw Object.assign(new Error(`HTTP ${res.status} ${res.statusText}`.trim()), { http: true });
    const hash = createHash('sha256');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bump();
      hash.update(chunk);
      await fh.write(chunk);
    }
    return hash.digest('hex');
  } finally {
    clearTimeout(timer);
    await fh.close();
  }
}

async function expectedSha256(
  name: ToolName,
  pin: ToolPin,
  platform: Platform,
  opts: ToolOptions,
): Promise<{ sha256: string; verifiedBy: VerifiedBy; checksumUrl: string }> {
  const base = baseUrlOf(pin, opts);
  const sumUrl = checksumUrl(pin, platform, base);
  const pinned = pin.sha256[platform];
  if (pinned) return { sha256: pinned, verifiedBy: 'pinned', checksumUrl: sumUrl };
  const key = `${name}@${pin.version}/${platform}`;
  const locked = (await readLock(opts))[key];
  if (locked) return { sha256: locked.sha256, verifiedBy: 'tofu-lock', checksumUrl: sumUrl };
  let text: string;
  try {
    const res = await httpGet(sumUrl, opts.idleTimeoutMs ?? 60_000);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (e) {
    throw networkError(sumUrl, e, name, pin, `${name}.sha256`);
  }
  const assetName = expand(pin.assetPath, pin, platform).split('/').pop()!;
  const sum = parseChecksumFile(text, pin.checksumFormat, assetName);
  if (!sum) {
    throw new ToolError(
      `the checksum file ${sumUrl} holds no sha256 for ${assetName}`,
      `Pin the sha256 of ${assetName} in kind/versions.ts (${name}.sha256['${platform}']) after checking it by hand.`,
    );
  }
  opts.log?.(
    `${name} ${pin.version} ${platform}: no pinned sha256; trusting ${sumUrl} on first use ` +
      `(recorded in ${lockFile(opts)}; pin ${sum} in kind/versions.ts to make it permanent)`,
  );
  return { sha256: sum, verifiedBy: 'tofu-new', checksumUrl: sumUrl };
}

async function downloadTool(name: ToolName, opts: ToolOptions): Promise<ResolvedTool> {
  const pin = pinFor(name, opts);
  const platform = platformOf(opts);
  const runner = opts.runner ?? execaRunner;
  const base = baseUrlOf(pin, opts);
  const url = assetUrl(pin, platform, base);
  const dir = toolDir(name, opts);
  const finalBin = join(dir, name);
  const expected = await expectedSha256(name, pin, platform, opts);
  const work = await scratchDirFor(dir);
  try {
    const asset = join(work, 'asset');
    opts.log?.(`downloading ${url}`);
    let actual: string;
    try {
      actual = await download(url, asset, opts.idleTimeoutMs ?? 60_000);
    } catch (e) {
      throw networkError(url, e, name, pin, finalBin);
    }
    if (actual !== expected.sha256) {
      await rm(asset, { force: true });
      throw new ToolError(
        `checksum mismatch for ${url}: expected sha256 ${expected.sha256} ` +
          `(${expected.verifiedBy === 'pinned' ? 'pinned in kind/versions.ts' : expected.verifiedBy === 'tofu-lock' ? `recorded in ${lockFile(opts)}` : `from ${expected.checksumUrl}`}), ` +
          `got ${actual}. The downloaded file was deleted.`,
        'A proxy or mirror may have served something else, or the download was corrupted: retry. ' +
          'If it persists, compare with the release page and report it; do not use the file.',
      );
    }
    let bin = asset;
    if (pin.archiveMember) {
      const member = expand(pin.archiveMember, pin, platform);
      const t = await runner('tar', ['-xzf', asset, '-C', work, member], { timeoutMs: 120_000 });
      if (t.exitCode !== 0) {
        throw new ToolError(
          `could not extract ${member} from ${url}: ${firstLines(t.stderr)}`,
          'Is `tar` installed?',
        );
      }
      bin = join(work, member);
    }
    await chmod(bin, 0o755);
    const got = await toolVersion(name, bin, runner);
    if (got !== pin.version) {
      throw new ToolError(
        `the ${name} from ${url} reports version ${got ?? '(it did not run)'}, expected ${pin.version}`,
        `Check that ${platform} is this machine's platform and that the asset is the right one.`,
      );
    }
    const binarySha256 = bin === asset ? actual : await sha256File(bin);
    const meta: CacheMeta = {
      name,
      version: pin.version,
      platform,
      url,
      assetSha256: actual,
      binarySha256,
      verifiedBy: expected.verifiedBy,
      fetchedAt: new Date().toISOString(),
    };
    await writeFile(join(work, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    await mkdir(dir, { recursive: true });
    // Binary first, then meta: a reader that sees the meta sees a complete binary.
    await publish(bin, finalBin);
    await publish(join(work, 'meta.json'), join(dir, 'meta.json'));
    if (expected.verifiedBy === 'tofu-new') {
      await recordInLock(opts, `${name}@${pin.version}/${platform}`, {
        sha256: actual,
        url,
        checksumUrl: expected.checksumUrl,
        recordedAt: meta.fetchedAt,
      });
    }
    return {
      name,
      version: pin.version,
      path: finalBin,
      source: 'download',
      verifiedBy: expected.verifiedBy,
      assetSha256: actual,
    };
  } finally {
    await removeQuietly(work);
  }
}

/** Re-checks a cached tool against its recorded and pinned checksums (`npm run tools -- verify`). */
export async function verifyCachedTool(
  name: ToolName,
  opts: ToolOptions = {},
): Promise<{ ok: boolean; path: string; detail: string }> {
  const pin = pinFor(name, opts);
  const platform = platformOf(opts);
  const dir = toolDir(name, opts);
  const bin = join(dir, name);
  const meta = await readMeta(dir);
  if (!meta) return { ok: false, path: bin, detail: `not fetched (run \`npm run tools -- fetch ${name}\`)` };
  if (meta.platform !== platform)
    return { ok: false, path: bin, detail: `cached for ${meta.platform}, this is ${platform}` };
  const pinned = pin.sha256[platform];
  if (pinned && meta.assetSha256 !== pinned) {
    return {
      ok: false,
      path: bin,
      detail: `fetched asset sha256 ${meta.assetSha256} is not the pinned ${pinned}`,
    };
  }
  const now = await sha256File(bin).catch(() => 'missing');
  if (now !== meta.binarySha256) {
    return {
      ok: false,
      path: bin,
      detail: `binary changed since it was verified (sha256 ${now}, recorded ${meta.binarySha256})`,
    };
  }
  const got = await toolVersion(name, bin, opts.runner ?? execaRunner);
  if (got !== pin.version)
    return { ok: false, path: bin, detail: `reports ${got ?? 'nothing'}, expected ${pin.version}` };
  return {
    ok: true,
    path: bin,
    detail: `${pin.version}, asset sha256 ${meta.assetSha256} (${meta.verifiedBy})`,
  };
}
