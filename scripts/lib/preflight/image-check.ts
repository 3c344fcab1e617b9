// The image preflight: before anything is created, every image the run needs is resolved to a
// digest. Pulled images are asked of their registry (HEAD of the manifest, scripts/lib/registry);
// built images (`--images built`) are looked up in what `npm run images` wrote. One row per image
// with its source and digest; a missing image or an unreachable registry is a problem that names
// the image (the run cannot start: exit 3).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtImageOf } from '../../../kind/built-images.ts';
import type { ImageOverrides } from '../../../kind/images.ts';
import type { ManifestStatus, RegistryClient } from '../registry/client.ts';
import { PreflightError } from './errors.ts';
import type { ImageToPull } from './images.ts';

export type ImageSource = 'pulled' | 'built';
export type ImageMode = 'upstream' | 'built';

export interface ImageCheckRow {
  readonly key?: string;
  readonly ref: string;
  /** The registry asked (docker.io for Docker Hub); absent for built images. */
  readonly registry?: string;
  readonly source: ImageSource;
  /** Who pulls it in the cluster (a chart, or code such as the functions controller). */
  readonly pulledBy: string;
  readonly status: ManifestStatus | 'built' | 'not-built';
  readonly digest?: string;
  readonly detail: string;
  /** What to do when it is not usable. */
  readonly hint: string;
  readonly ok: boolean;
}

/** One image as `npm run images` recorded it in `<out>/images.json`. */
export interface BuiltRecord {
  readonly key: string;
  readonly ref: string;
  readonly digest?: string;
  /** Why it could not be built (the exact error), when it was not. */
  readonly blocked?: string;
}

export const BUILT_INDEX = 'images.json';

/** Reads `<dir>/images.json`; none there means nothing was built. */
export function readBuiltIndex(dir: string): BuiltRecord[] {
  const file = join(dir, BUILT_INDEX);
  if (!existsSync(file)) return [];
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { images?: BuiltRecord[] };
  return doc.images ?? [];
}

/** Is this reference one of the images `--images built` builds? */
export function builtKeyOf(ref: string): string | undefined {
  return builtImageOf(ref)?.key;
}

export interface CheckImagesOptions {
  readonly client: RegistryClient;
  readonly overrides: ImageOverrides;
  readonly mode: ImageMode;
  /** `npm run images` output folder (mode built). */
  readonly builtDir?: string;
  readonly concurrency?: number;
}

function pulledByOf(o: ImageOverrides, img: ImageToPull): string {
  const e = img.key ? o.images.find((x) => x.key === img.key) : undefined;
  if (!e) return 'the run (traffic function or rendered chart)';
  return (
    e.pulledBy ??
    (e.chart === 'harness' ? 'the harness' : `${e.chart} ${e.chart === 'kind' ? 'node' : 'chart'}`)
  );
}

export async function checkImages(
  images: readonly ImageToPull[],
  o: CheckImagesOptions,
): Promise<ImageCheckRow[]> {
  const built = o.mode === 'built' && o.builtDir ? readBuiltIndex(o.builtDir) : [];
  const rows: ImageCheckRow[] = new Array(images.length);
  let next = 0;
  const worker = async () => {
    while (next < images.length) {
      const at = next++;
      const img = images[at] as ImageToPull;
      rows[at] = await checkOne(img, o, built);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 6, images.length) }, worker));
  return rows;
}

async function checkOne(
  img: ImageToPull,
  o: CheckImagesOptions,
  built: BuiltRecord[],
): Promise<ImageCheckRow> {
  const base = { ...(img.key ? { key: img.key } : {}), ref: img.ref, pulledBy: pulledByOf(o.overrides, img) };
  const builtKey = o.mode === 'built' ? builtKeyOf(img.ref) : undefined;
  if (builtKey) {
    const rec = built.find((b) => b.key === builtKey);
    if (rec?.digest) {
      return {
        ...base,
        source: 'built',
        status: 'built',
        digest: rec.digest,
        detail: 'built locally',
        hint: '',
        ok: true,
      };
    }
    return {
      ...base,
      source: 'built',
      status: 'not-built',
      detail: rec?.blocked
        ? `not built: ${rec.blocked}`
        : `not built (no ${BUILT_INDEX} entry in ${o.builtDir ?? '?'})`,
      hint: rec?.blocked
        ? 'its source is not available here; run with --images upstream to pull the 2021 image instead'
        : `build it first: npm run images -- --out ${o.builtDir ?? '<dir>'} (or run with --images upstream)`,
      ok: false,
    };
  }
  const r = await o.client.checkManifest(img.ref);
  const ok = r.status === 'present';
  const hint = ok
    ? ''
    : r.status === 'unreachable' || r.status === 'untrusted'
      ? `the registry ${r.ref.registry} must be reachable from this machine (network, proxy, trust roots: NODE_EXTRA_CA_CERTS); or ${img.hint}`
      : `To use another image, ${img.hint}`;
  return {
    ...base,
    registry: r.ref.registry,
    source: 'pulled',
    status: r.status,
    ...(r.digest ? { digest: r.digest } : {}),
    detail: r.detail,
    hint,
    ok,
  };
}

/** One problem per unusable image, each naming the image and its images.yaml key. */
export function imageCheckProblems(rows: readonly ImageCheckRow[]): PreflightError[] {
  return rows
    .filter((r) => !r.ok)
    .map(
      (r) =>
        new PreflightError(
          'images',
          `image ${r.ref}${r.key ? ` (${r.key})` : ''} [${r.status}]: ${r.detail}`,
          r.hint,
        ),
    );
}

/** Reference -> digest of every resolved image, for the reproduction bundle. */
export function resolvedDigests(rows: readonly ImageCheckRow[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rows) if (r.ok && r.digest) out[r.ref] = r.digest;
  return out;
}

const MARK: Record<string, string> = { present: '✓', built: '✓' };

/** The terminal table: key, source, result, short digest, reference (full digests: --json). */
export function imageCheckTable(rows: readonly ImageCheckRow[]): string {
  const cells = rows.map((r) => [
    r.key ?? '-',
    r.source,
    `${MARK[r.status] ?? '✗'} ${r.status}`,
    r.digest ? `${r.digest.slice(0, 19)}…` : '-',
    r.ref.replace(/@sha256:[0-9a-f]{64}$/, '@…'),
  ]);
  const head = ['image', 'source', 'result', 'digest', 'reference'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const bad = rows.filter((r) => !r.ok);
  // A registry that cannot be reached fails all its images alike: one line per registry.
  const byRegistry = new Map<string, ImageCheckRow[]>();
  for (const r of bad) {
    if (r.status !== 'unreachable' && r.status !== 'untrusted') continue;
    const k = `${r.registry}\u0000${r.detail}`;
    byRegistry.set(k, [...(byRegistry.get(k) ?? []), r]);
  }
  const each = bad.filter((r) => r.status !== 'unreachable' && r.status !== 'untrusted');
  return [
    line(head),
    ...cells.map(line),
    '',
    `${rows.length - bad.length} of ${rows.length} images resolved${bad.length ? `, ${bad.length} not usable:` : ''}`,
    ...[...byRegistry.values()].map(
      (rs) =>
        `  ✗ registry ${rs[0]?.registry} (${rs[0]?.status}): ${rs[0]?.detail}\n    images: ${rs.map((r) => r.key ?? r.ref).join(', ')}\n    → ${rs[0]?.registry} must be reachable from this machine (network, proxy; a private CA: NODE_EXTRA_CA_CERTS or --ca), or point these images elsewhere with 'use:' in kind/images.yaml`,
    ),
    ...each.map(
      (r) =>
        `  ✗ ${r.ref}${r.key ? ` (${r.key}, pulled by ${r.pulledBy})` : ''}: ${r.detail}\n    → ${r.hint}`,
    ),
    '',
  ].join('\n');
}
