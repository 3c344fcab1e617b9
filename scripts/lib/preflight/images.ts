// Images: list every image the run pulls, pull each once on the host before the cluster needs it,
// and load into the kind node only what the node does not already have.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findImage,
  type ImageEntry,
  type ImageOverrides,
  normalizeRef,
  overrideHint,
  parseImageRef,
} from '../../../kind/images.ts';
import { firstLines, type Runner, showCommand } from '../tools/runner.ts';
import { PreflightError, PreflightErrors } from './errors.ts';

export interface ImageToPull {
  readonly ref: string;
  /** The kind/images.yaml key, when the image is listed there. */
  readonly key?: string;
  /** What to change to use another image (names the chart value / images.yaml key). */
  readonly hint: string;
}

/** The static list from kind/images.yaml: every `use` reference with its override hint. */
export function imagesFromOverrides(
  o: ImageOverrides,
  filter: (e: ImageEntry) => boolean = () => true,
): ImageToPull[] {
  return o.images.filter(filter).map((e) => ({ ref: e.use, key: e.key, hint: overrideHint(e) }));
}

/**
 * Merges references rendered from the charts (or chosen by the caller, like function images) with
 * the static list, dropping duplicates; a rendered reference listed in images.yaml gets its key.
 */
export function imagesToPull(
  o: ImageOverrides,
  rendered: readonly (string | ImageToPull)[] = [],
  filter?: (e: ImageEntry) => boolean,
): ImageToPull[] {
  const out = new Map<string, ImageToPull>();
  for (const i of imagesFromOverrides(o, filter)) out.set(normalizeRef(i.ref), i);
  for (const r of rendered) {
    const item: ImageToPull =
      typeof r === 'string'
        ? (() => {
            const e = findImage(o, r);
            return e
              ? { ref: e.use, key: e.key, hint: overrideHint(e) }
              : { ref: r, hint: 'change the chart value or option that sets this image' };
          })()
        : r;
    const k = normalizeRef(item.ref);
    if (!out.has(k)) out.set(k, item);
  }
  return [...out.values()];
}

/** Why a `docker pull` failed, in a user's words. */
export function pullFailureReason(stderr: string): string {
  const s = stderr.toLowerCase();
  if (s.includes('toomanyrequests') || s.includes('rate limit')) {
    return 'the registry rate-limited the pull (Docker Hub allows few anonymous pulls per hour): `docker login`, or use a mirror';
  }
  if (s.includes('no matching manifest'))
    return `no build for this machine's architecture (${firstLines(stderr, 1)})`;
  if (s.includes('manifest unknown') || s.includes('not found') || s.includes('does not exist')) {
    return `it does not exist (any more) in its registry (${firstLines(stderr, 1)})`;
  }
  if (s.includes('unauthorized') || s.includes('denied')) return `access denied (${firstLines(stderr, 1)})`;
  return firstLines(stderr) || 'docker pull failed';
}

export interface PullReport {
  readonly present: string[];
  readonly pulled: string[];
}

/**
 * Pulls every image once on the host (skipping those already there). All failures are reported
 * together, each naming its images.yaml key / chart value.
 */
export async function pullImages(
  runner: Runner,
  images: readonly ImageToPull[],
  opts: { readonly log?: (line: string) => void; readonly timeoutMs?: number } = {},
): Promise<PullReport> {
  const report: PullReport = { present: [], pulled: [] };
  const problems: PreflightError[] = [];
  for (const img of images) {
    const have = await runner('docker', ['image', 'inspect', '--format', '{{.Id}}', img.ref], {
      timeoutMs: 30_000,
    });
    if (have.exitCode === 0) {
      report.present.push(img.ref);
      continue;
    }
    opts.log?.(`pulling ${img.ref}`);
    const r = await runner('docker', ['pull', img.ref], { timeoutMs: opts.timeoutMs ?? 600_000 });
    if (r.exitCode === 0) {
      report.pulled.push(img.ref);
      continue;
    }
    problems.push(
      new PreflightError(
        'images',
        `cannot pull ${img.ref}${img.key ? ` (${img.key})` : ''}: ${pullFailureReason(r.stderr)}.`,
        `To use another image, ${img.hint}.`,
      ),
    );
  }
  if (problems.length > 0) throw new PreflightErrors(problems);
  return report;
}

export interface NodeImages {
  readonly tags: Set<string>;
  readonly digests: Set<string>;
}

/** What the node's containerd already holds (`crictl images -o json`). */
export async function nodeImages(runner: Runner, node: string): Promise<NodeImages> {
  const r = await runner('docker', ['exec', node, 'crictl', 'images', '-o', 'json'], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    throw new PreflightError(
      'images',
      `cannot list the images in node ${node}: ${firstLines(r.stderr)}`,
      `Is the kind node running? (docker ps --filter name=${node})`,
    );
  }
  const parsed = JSON.parse(r.stdout) as { images?: { repoTags?: string[]; repoDigests?: string[] }[] };
  const tags = new Set<string>();
  const digests = new Set<string>();
  for (const i of parsed.images ?? []) {
    for (const t of i.repoTags ?? []) tags.add(normalizeRef(t));
    for (const d of i.repoDigests ?? []) digests.add(normalizeRef(d));
  }
  return { tags, digests };
}

function presentIn(have: NodeImages, ref: string): boolean {
  const r = parseImageRef(ref);
  if (r.digest) {
    const byDigest = normalizeRef(`${r.registry ? `${r.registry}/` : ''}${r.repository}@${r.digest}`);
    return have.digests.has(byDigest);
  }
  return have.tags.has(normalizeRef(ref));
}

export interface LoadOptions {
  readonly kind: string;
  readonly cluster: string;
  /** The node container (kind names it <cluster>-control-plane). */
  readonly node?: string;
  /** Docker's containerd image store is on (DockerInfo.containerdImageStore). */
  readonly containerdImageStore: boolean;
  /** Docker server major version: `docker save --platform` needs 28+. */
  readonly dockerMajor: number;
  /** linux/amd64 or linux/arm64: the node's platform. */
  readonly platform: string;
  readonly log?: (line: string) => void;
}

export interface LoadReport {
  readonly alreadyPresent: string[];
  readonly loaded: string[];
  readonly pulledInNode: string[];
}

/**
 * Loads the images into the kind node, only those missing. Tagged images go from the host
 * (`kind load docker-image`, or `docker save` + `kind load image-archive` when Docker uses the
 * containerd image store, kind#3795); digest references cannot be carried by name through
 * `docker save`, so the node pulls those itself (`crictl pull`).
 */
export async function loadMissingImages(
  runner: Runner,
  refs: readonly string[],
  o: LoadOptions,
): Promise<LoadReport> {
  const node = o.node ?? `${o.cluster}-control-plane`;
  const have = await nodeImages(runner, node);
  const report: LoadReport = { alreadyPresent: [], loaded: [], pulledInNode: [] };
  let scratch: string | undefined;
  const fail = (what: string, cmd: string, args: readonly string[], stderr: string) =>
    new PreflightError(
      'images',
      `${what}: ${firstLines(stderr)}`,
      `The command was: ${showCommand(cmd, args)}`,
    );
  try {
    for (const ref of refs) {
      if (presentIn(have, ref)) {
        report.alreadyPresent.push(ref);
        continue;
      }
      if (parseImageRef(ref).digest) {
        const args = ['exec', node, 'crictl', 'pull', ref];
        const r = await runner('docker', args, { timeoutMs: 600_000 });
        if (r.exitCode !== 0) throw fail(`node ${node} cannot pull ${ref}`, 'docker', args, r.stderr);
        report.pulledInNode.push(ref);
        continue;
      }
      o.log?.(`loading ${ref} into ${node}`);
      if (o.containerdImageStore) {
        scratch ??= await mkdtemp(join(tmpdir(), 'e2e-images-'));
        const tar = join(scratch, `${report.loaded.length}.tar`);
        // With the containerd store `docker save` exports the whole multi-arch index; kind then
        // fails on the absent platforms unless the save is limited to the node's platform.
        let save = ['save', ...(o.dockerMajor >= 28 ? ['--platform', o.platform] : []), '-o', tar, ref];
        let s = await runner('docker', save, { timeoutMs: 600_000 });
        if (s.exitCode !== 0 && o.dockerMajor >= 28) {
          // A single-platform image (the 2021 vorteil/* images are amd64 only) has no variant for
          // an arm64 node: save what it has, and say the node must emulate it (binfmt).
          const inspect = ['image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', ref];
          const own = (await runner('docker', inspect, { timeoutMs: 30_000 })).stdout.trim();
          if (own && own !== o.platform) {
            o.log?.(
              `${ref} exists only for ${own}; the node is ${o.platform}: it runs only under emulation (binfmt/qemu)`,
            );
            save = ['save', '--platform', own, '-o', tar, ref];
            s = await runner('docker', save, { timeoutMs: 600_000 });
          }
        }
        if (s.exitCode !== 0) throw fail(`cannot save ${ref}`, 'docker', save, s.stderr);
        const load = ['load', 'image-archive', tar, '--name', o.cluster];
        const l = await runner(o.kind, load, { timeoutMs: 600_000 });
        if (l.exitCode !== 0) throw fail(`cannot load ${ref} into ${o.cluster}`, o.kind, load, l.stderr);
        await rm(tar, { force: true });
      } else {
        const load = ['load', 'docker-image', ref, '--name', o.cluster];
        const l = await runner(o.kind, load, { timeoutMs: 600_000 });
        if (l.exitCode !== 0) throw fail(`cannot load ${ref} into ${o.cluster}`, o.kind, load, l.stderr);
      }
      report.loaded.push(ref);
    }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  return report;
}
