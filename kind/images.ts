// Reads kind/images.yaml: every image a run pulls, what to pull instead, and how the replacement
// reaches the cluster (a chart value, a rewrite of rendered manifests, the kind config, the harness).
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { BadInputError } from '../scenarios/errors.ts';

export const imagesFile = join(dirname(fileURLToPath(import.meta.url)), 'images.yaml');

export type ImageVia = 'helm-value' | 'post-renderer' | 'manifest-rewrite' | 'kind-config' | 'harness';
const vias: readonly ImageVia[] = [
  'helm-value',
  'post-renderer',
  'manifest-rewrite',
  'kind-config',
  'harness',
];

export interface ImageEntry {
  /** The key in kind/images.yaml, e.g. `direktiv.sidecar`. */
  readonly key: string;
  readonly original: string;
  /** What to pull and run: `use` from the file, or `original`. */
  readonly use: string;
  readonly via: ImageVia;
  readonly chart: string;
  /** For helm-value: the chart values that carry it. */
  readonly values: readonly string[];
  readonly note?: string;
  /** Who pulls it, when not the chart's own workloads (code: the functions controller, Knative). */
  readonly pulledBy?: string;
}

export interface ImageOverrides {
  readonly images: readonly ImageEntry[];
  readonly direktivValues: Readonly<Record<string, string>>;
  readonly registryMirrors: Readonly<Record<string, readonly string[]>>;
  readonly file: string;
}

/** kind/images.yaml cannot be read or is invalid (bad input, exit 2): names the file and the field. */
export class ImagesFileError extends BadInputError {
  constructor(file: string, problem: string) {
    super(file, undefined, problem, 'fix the file (its format: kind/README.md, "Images")');
  }
}

/**
 * A few KB in practice; a larger file is not an image list (and must not fill the memory, nor
 * keep the parser busy: 256 KiB of nesting is refused in about a second).
 */
const MAX_IMAGES_FILE_BYTES = 256 * 1024;
/** YAML aliases allowed when the file is read (an alias bomb stops here, not in the memory). */
const MAX_ALIASES = 50;

export interface ImageRef {
  /** Registry host as written, or undefined (Docker Hub). */
  readonly registry?: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Splits an image reference (`[registry/]repo[:tag][@sha256:…]`). */
export function parseImageRef(ref: string): ImageRef {
  if (!ref || /\s/.test(ref)) throw new Error(`not an image reference: '${ref}'`);
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`bad digest in image reference '${ref}'`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const repository = hasRegistry ? rest.slice(slash + 1) : rest;
  if (!repository || (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag))) {
    throw new Error(`not an image reference: '${ref}'`);
  }
  return {
    ...(hasRegistry ? { registry: first } : {}),
    repository,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

export function loadImageOverrides(file: string = imagesFile): ImageOverrides {
  let doc: unknown;
  try {
    const size = statSync(file).size;
    if (size > MAX_IMAGES_FILE_BYTES) throw new Error(`${size} bytes, more than ${MAX_IMAGES_FILE_BYTES}`);
    doc = parse(readFileSync(file, 'utf8'), { maxAliasCount: MAX_ALIASES, logLevel: 'error' });
  } catch (e) {
    throw new ImagesFileError(file, `cannot read or parse: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseImageOverrides(doc, file);
}

export function parseImageOverrides(doc: unknown, file = 'images.yaml'): ImageOverrides {
  const root = asRecord(doc, file, 'the file');
  if (root.version !== 1)
    throw new ImagesFileError(file, `unsupported version ${String(root.version)} (expected 1)`);
  const raw = asRecord(root.images, file, 'images');
  const images: ImageEntry[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const e = asRecord(value, file, `images.${key}`);
    const original = str(e.original, file, `images.${key}.original`);
    const use =
      e.use === undefined || e.use === null || e.use === ''
        ? original
        : str(e.use, file, `images.${key}.use`);
    for (const [field, ref] of [
      ['original', original],
      ['use', use],
    ] as const) {
      try {
        parseImageRef(ref);
      } catch (err) {
        throw new ImagesFileError(file, `images.${key}.${field}: ${(err as Error).message}`);
      }
    }
    const via = str(e.via, file, `images.${key}.via`) as ImageVia;
    if (!vias.includes(via)) {
      throw new ImagesFileError(file, `images.${key}.via: '${via}' is not one of ${vias.join(', ')}`);
    }
    const values = Array.isArray(e.values)
      ? e.values.map((v, i) => str(v, file, `images.${key}.values[${i}]`))
      : [];
    if (via === 'helm-value' && values.length === 0) {
      throw new ImagesFileError(
        file,
        `images.${key}: via helm-value needs 'values' (the chart values that carry it)`,
      );
    }
    images.push({
      key,
      original,
      use,
      via,
      chart: str(e.chart, file, `images.${key}.chart`),
      values,
      ...(typeof e.note === 'string' ? { note: e.note } : {}),
      ...(typeof e.pulledBy === 'string' ? { pulledBy: e.pulledBy } : {}),
    });
  }
  const direktivValues: Record<string, string> = {};
  for (const [k, v] of Object.entries(asRecord(root.direktivValues ?? {}, file, 'direktivValues'))) {
    if (!['string', 'number', 'boolean'].includes(typeof v)) {
      throw new ImagesFileError(file, `direktivValues.${k} must be a string, a number or a boolean`);
    }
    direktivValues[k] = String(v);
  }
  const registryMirrors: Record<string, string[]> = {};
  for (const [host, v] of Object.entries(asRecord(root.registryMirrors ?? {}, file, 'registryMirrors'))) {
    const list = Array.isArray(v) ? v : [v];
    registryMirrors[host] = list.map((x, i) => {
      const u = str(x, file, `registryMirrors.${host}[${i}]`);
      if (!/^https?:\/\/[^\s/]+/.test(u)) {
        throw new ImagesFileError(file, `registryMirrors.${host}: '${u}' must be an http:// or https:// URL`);
      }
      return u;
    });
  }
  const result = { images, direktivValues, registryMirrors, file };
  direktivImageValues(result); // validates the shared-registry rule early
  return result;
}

/** The reference to run for a key (e.g. `kind.node`, `harness.capture`): its `use`. */
export function useOf(o: ImageOverrides, key: string): string {
  const e = o.images.find((i) => i.key === key);
  if (!e) throw new ImagesFileError(o.file, `no image '${key}' (expected in kind/images.yaml)`);
  return e.use;
}

/** Where to change an image, in words a user can act on (used in preflight errors). */
export function overrideHint(e: ImageEntry, file = 'kind/images.yaml'): string {
  const where = `set 'use:' under '${e.key}' in ${file}`;
  switch (e.via) {
    case 'helm-value':
      return `${where} (the harness passes it to the ${e.chart} chart as ${e.values.map((v) => `'${v}'`).join(' + ')})`;
    case 'post-renderer':
      return `${where} (the ${e.chart} chart hard-codes it; the harness rewrites the rendered manifests)`;
    case 'manifest-rewrite':
      return `${where} (the harness rewrites the ${e.chart} manifest before applying it)`;
    case 'kind-config':
      return `${where} (used as the kind node image; it must be built by the pinned kind release)`;
    case 'harness':
      return `${where} (an image the harness starts itself)`;
  }
}

/**
 * Helm values for the Direktiv chart that make it run the `use` images, plus `direktivValues`.
 * Always sets sidecar and init-pod (the chart defaults are untagged).
 */
export function direktivImageValues(o: ImageOverrides): Record<string, string> {
  const out: Record<string, string> = { ...o.direktivValues };
  const composed = o.images.filter(
    (e) => e.chart === 'direktiv' && e.via === 'helm-value' && e.values.length === 3,
  );
  const registries = new Set(composed.map((e) => parseImageRef(e.use).registry ?? 'docker.io'));
  if (registries.size > 1) {
    throw new ImagesFileError(
      o.file,
      `the Direktiv images ${composed.map((e) => e.key).join(', ')} share the chart value 'registry', ` +
        `so their 'use' must share one registry (found ${[...registries].join(', ')})`,
    );
  }
  for (const e of o.images) {
    if (e.chart !== 'direktiv' || e.via !== 'helm-value') continue;
    const ref = parseImageRef(e.use);
    if (e.values.length === 3) {
      const [registryKey, imageKey, tagKey] = e.values as [string, string, string];
      out[registryKey] = ref.registry ?? 'docker.io';
      out[imageKey] = ref.repository;
      // The chart appends `:<tag>`; a digest-only `use` cannot be expressed through these values.
      if (!ref.tag) {
        throw new ImagesFileError(
          o.file,
          `images.${e.key}.use must have a tag (the chart renders <image>:<tag>)`,
        );
      }
      out[tagKey] = ref.digest ? `${ref.tag}@${ref.digest}` : ref.tag;
    } else {
      out[e.values[0] as string] = e.use;
    }
  }
  return out;
}

/** Rewrites every `original` that has a different `use` in a rendered manifest (post-renderer). */
export function rewriteImages(
  manifest: string,
  o: ImageOverrides,
  vias: readonly ImageVia[] = ['post-renderer'],
): string {
  let text = manifest;
  for (const e of o.images) {
    if (!vias.includes(e.via) || e.use === e.original) continue;
    // Match the reference only as a whole token (a longer name sharing the prefix stays).
    const re = new RegExp(`(^|[\\s"'=:])${escapeRe(e.original)}(?=$|[\\s"',])`, 'gm');
    text = text.replace(re, (_m, pre: string) => `${pre}${e.use}`);
  }
  return text;
}

/** The entry whose `original` or `use` is this reference (for naming the override key). */
export function findImage(o: ImageOverrides, ref: string): ImageEntry | undefined {
  const norm = normalizeRef(ref);
  return o.images.find((e) => normalizeRef(e.use) === norm || normalizeRef(e.original) === norm);
}

/** `postgres:12` and `docker.io/library/postgres:12` are the same image. */
export function normalizeRef(ref: string): string {
  try {
    const r = parseImageRef(ref);
    const registry = r.registry ?? 'docker.io';
    const repo =
      registry === 'docker.io' && !r.repository.includes('/') ? `library/${r.repository}` : r.repository;
    return `${registry}/${repo}${r.tag ? `:${r.tag}` : r.digest ? '' : ':latest'}${r.digest ? `@${r.digest}` : ''}`;
  } catch {
    return ref;
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function asRecord(v: unknown, file: string, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new ImagesFileError(file, `${what} must be a mapping`);
  return v as Record<string, unknown>;
}

function str(v: unknown, file: string, what: string): string {
  if (typeof v !== 'string' || !v) throw new ImagesFileError(file, `${what} must be a non-empty string`);
  return v;
}
