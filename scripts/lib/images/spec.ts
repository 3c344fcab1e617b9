// From a static binary and its Dockerfile to the spec tools/images builds, and back: the check of
// a built image's config (read from the OCI layout) against the Dockerfile, field by field, and of
// its entrypoint binary (a static linux/amd64 ELF).
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DockerfileConfig } from './dockerfile.ts';

/** Debian's CA bundle: the Dockerfiles' `apk add ca-certificates` / `COPY ca-certificates.crt`. */
export const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
/** Docker's default PATH, which a scratch-based image does not inherit from a base. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface SpecFile {
  src: string;
  dst: string;
  mode: number;
}
export interface SpecLayer {
  files: SpecFile[];
  createdBy: string;
}
/** tools/images `Image` (Go field names of v1.Config). */
export interface ImageSpec {
  name: string;
  platform: string;
  layers: SpecLayer[];
  config: {
    Entrypoint?: string[];
    Cmd?: string[];
    User?: string;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
    Env: string[];
    Volumes?: Record<string, object>;
  };
}

export interface SpecInput {
  readonly ref: string;
  /** The static binary built from the command. */
  readonly binary: string;
  readonly dockerfile: DockerfileConfig;
  /** The build context (COPY sources without --from). */
  readonly contextDir: string;
  readonly caBundle?: string;
}

export function imageSpec(i: SpecInput): ImageSpec {
  const d = i.dockerfile;
  const layers: SpecLayer[] = [
    {
      files: [{ src: i.caBundle ?? CA_BUNDLE, dst: CA_BUNDLE, mode: 0o644 }],
      createdBy: `ca-certificates from Debian (replaces the ${d.base} base)`,
    },
  ];
  for (const c of d.copies) {
    const files = c.sources.map((s) => {
      const src = c.from ? i.binary : join(i.contextDir, s);
      const dst = c.destination.endsWith('/') ? `${c.destination}${basename(s)}` : c.destination;
      if (!statSync(src).isFile()) throw new Error(`COPY ${s}: only files are supported (a folder)`);
      return { src, dst, mode: c.from ? 0o755 : statSync(src).mode & 0o777 };
    });
    layers.push({
      files,
      createdBy: `COPY ${c.from ? `--from=${c.from} ` : ''}${c.sources.join(' ')} ${c.destination}`,
    });
  }
  const env = Object.entries(d.env).map(([k, v]) => `${k}=${v}`);
  if (!('PATH' in d.env)) env.unshift(DEFAULT_PATH);
  return {
    name: i.ref,
    platform: 'linux/amd64',
    layers,
    config: {
      ...(d.entrypoint ? { Entrypoint: d.entrypoint } : {}),
      ...(d.cmd ? { Cmd: d.cmd } : {}),
      ...(d.user ? { User: d.user } : {}),
      ...(d.workdir ? { WorkingDir: d.workdir } : {}),
      ...(d.exposedPorts.length
        ? { ExposedPorts: Object.fromEntries(d.exposedPorts.map((p) => [p, {}])) }
        : {}),
      Env: env,
      ...(d.volumes.length ? { Volumes: Object.fromEntries(d.volumes.map((v) => [v, {}])) } : {}),
    },
  };
}

export interface ConfigCheckRow {
  readonly field: string;
  readonly dockerfile: string;
  readonly image: string;
  readonly holds: boolean;
}

/** The built image's config blob (from the OCI layout) against the Dockerfile, field by field. */
export function compareConfig(d: DockerfileConfig, imageConfig: Record<string, unknown>): ConfigCheckRow[] {
  const c = (imageConfig.config ?? {}) as Record<string, unknown>;
  const j = (v: unknown) => (v === undefined || v === null || v === '' ? '-' : JSON.stringify(v));
  const row = (field: string, want: unknown, got: unknown) => ({
    field,
    dockerfile: j(want),
    image: j(got),
    holds: j(want) === j(got),
  });
  const env = (c.Env as string[] | undefined) ?? [];
  return [
    row('entrypoint', d.entrypoint, c.Entrypoint),
    row('cmd', d.cmd, c.Cmd),
    row('user', d.user, c.User),
    row('workdir', d.workdir, c.WorkingDir),
    row('exposed ports', [...d.exposedPorts].sort(), Object.keys((c.ExposedPorts as object) ?? {}).sort()),
    row(
      'env',
      Object.entries(d.env).map(([k, v]) => `${k}=${v}`),
      env.filter((e) => !(e === DEFAULT_PATH && !('PATH' in d.env))),
    ),
    row('volumes', [...d.volumes].sort(), Object.keys((c.Volumes as object) ?? {}).sort()),
    row('os/arch', 'linux/amd64', `${imageConfig.os}/${imageConfig.architecture}`),
  ];
}

/** Is the file a static linux/amd64 ELF executable (x86-64, no PT_INTERP program header)? */
export function staticAmd64Elf(file: string): { ok: boolean; why: string } {
  const b = readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46) return { ok: false, why: 'not an ELF file' };
  if (b[4] !== 2 || b[5] !== 1) return { ok: false, why: 'not a 64-bit little-endian ELF' };
  const machine = b.readUInt16LE(18);
  if (machine !== 0x3e) return { ok: false, why: `machine 0x${machine.toString(16)}, not x86-64` };
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  for (let k = 0; k < phnum; k++) {
    if (b.readUInt32LE(phoff + k * phentsize) === 3)
      return { ok: false, why: 'dynamically linked (PT_INTERP)' };
  }
  return { ok: true, why: 'static x86-64 ELF' };
}
