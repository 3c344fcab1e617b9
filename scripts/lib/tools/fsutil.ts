// Small file helpers shared by the tool downloader and the offline test helm.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (this file lives in scripts/lib/tools/). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where fetched tools are cached: `.cache/tools/` in the project, or $E2E_TOOLS_CACHE. */
export function toolsCacheDir(): string {
  return process.env.E2E_TOOLS_CACHE
    ? resolve(process.env.E2E_TOOLS_CACHE)
    : join(projectRoot, '.cache', 'tools');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * A fresh scratch folder next to `finalPath` (same file system, so the last step can be an atomic
 * rename). Several processes may fill the same cache at once (engineers and CI share a work tree).
 */
export async function scratchDirFor(finalPath: string): Promise<string> {
  const dir = `${finalPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Moves a finished file into place atomically. If another process won the race the target already
 * holds the same verified content, so losing the race is fine.
 */
export async function publish(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await rename(from, to);
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
