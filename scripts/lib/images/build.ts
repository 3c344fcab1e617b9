// `npm run images`: Direktiv v0.4.1's own images from source (static Go builds of its cmd/*, the
// config of its build/docker/*/Dockerfile), as OCI image archives, reproducibly, without Docker.
// The source comes from the Go module proxy; where the proxy refuses it, each image is reported
// blocked with the proxy's exact error and nothing is built in its place. `--proof` also builds an
// image the same way from a module that IS served (CNCF Distribution's registry and its
// Dockerfile), to show the builder works end to end.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { builtImages, direktivSource } from '../../../kind/built-images.ts';
import { BUILT_INDEX, type BuiltRecord } from '../preflight/image-check.ts';
import { registryBinary, registryPin } from '../registry/local-registry.ts';
import { projectRoot } from '../tools/fsutil.ts';
import { ensureGoBinary, imagesProgram } from '../tools/go-build.ts';
import { readDockerfile } from './dockerfile.ts';
import { type ConfigCheckRow, compareConfig, type ImageSpec, imageSpec, staticAmd64Elf } from './spec.ts';

/** 2021-09-03, the day Direktiv v0.4.1 was tagged: the default SOURCE_DATE_EPOCH. */
export const DEFAULT_SOURCE_DATE_EPOCH = 1630627200;

export interface BuildRecord extends BuiltRecord {
  readonly size?: number;
  readonly archive?: string;
  readonly configCheck?: ConfigCheckRow[];
  readonly entrypointCheck?: string;
}

export interface BuildResult {
  readonly sourceDateEpoch: number;
  readonly images: BuildRecord[];
  /** Required (Direktiv) images that could not be built. */
  readonly blocked: number;
}

/** Asks the module proxy for a module; the exact error when it is refused. */
export async function downloadModule(
  module: string,
  version: string,
): Promise<{ dir?: string; error?: string }> {
  const scratch = mkdtempSync(join(tmpdir(), 'modcheck-'));
  const r = await execa('go', ['mod', 'download', '-json', `${module}@${version}`], {
    cwd: scratch,
    reject: false,
    env: { GOFLAGS: '-mod=mod' },
  }).catch((e: Error) => ({ exitCode: -1, stdout: '', stderr: e.message }));
  try {
    const info = JSON.parse(r.stdout || '{}') as { Dir?: string; Error?: string };
    if (info.Error) return { error: info.Error };
    if (info.Dir && r.exitCode === 0) return { dir: info.Dir };
  } catch {
    // fall through with stderr
  }
  return { error: (r.stderr || `go mod download exited ${r.exitCode}`).trim() };
}

/** The module directory (in the module cache) of an upstream module of tools/upstream/<dir>. */
async function moduleDir(dir: string, module: string): Promise<string> {
  const r = await execa('go', ['list', '-m', '-json', module], {
    cwd: join(projectRoot, 'tools', 'upstream', dir),
  });
  return (JSON.parse(r.stdout) as { Dir: string }).Dir;
}

interface Buildable {
  readonly key: string;
  readonly ref: string;
  readonly binary: string;
  readonly dockerfileText: string;
  readonly contextDir: string;
}

export const PROOF_KEY = 'proof.registry';
export const PROOF_REF = 'localhost/direktiv-tls-e2e/registry:v3.0.0';

export interface BuildOptions {
  readonly out: string;
  /** Build the Direktiv images (default true). */
  readonly direktiv?: boolean;
  /** Also build the proof image from CNCF Distribution. */
  readonly proof?: boolean;
  readonly sourceDateEpoch?: number;
  readonly log?: (line: string) => void;
}

export async function buildImages(o: BuildOptions): Promise<BuildResult> {
  const log = o.log ?? (() => {});
  const epoch = o.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  const records: BuildRecord[] = [];
  const todo: Buildable[] = [];
  let blocked = 0;

  if (o.direktiv !== false) {
    log(`source: ${direktivSource.module}@${direktivSource.version} from the Go module proxy`);
    const src = await downloadModule(direktivSource.module, direktivSource.version);
    for (const b of builtImages) {
      if (src.error) {
        blocked += 1;
        log(`✗ ${b.ref} (${b.key}): blocked: ${src.error}`);
        records.push({ key: b.key, ref: b.ref, blocked: src.error });
        continue;
      }
      // Reached only where the proxy serves Direktiv: build the command from the module.
      const binary = await ensureGoBinary(
        {
          name: `direktiv-${b.command.replace(/\W+/g, '-')}`,
          moduleDir: 'tools/upstream/direktiv',
          pkg: `${direktivSource.module}/${b.command}`,
          module: direktivSource.module,
        },
        log,
      );
      todo.push({
        key: b.key,
        ref: b.ref,
        binary: binary.path,
        dockerfileText: readFileSync(join(src.dir as string, b.dockerfile), 'utf8'),
        contextDir: src.dir as string,
      });
    }
  }
  if (o.proof) {
    const bin = await registryBinary(log);
    const dir = await moduleDir(registryPin.dir, registryPin.module);
    todo.push({
      key: PROOF_KEY,
      ref: PROOF_REF,
      binary: bin,
      dockerfileText: readFileSync(join(dir, 'Dockerfile'), 'utf8'),
      contextDir: dir,
    });
  }

  if (todo.length) {
    const tool = (await ensureGoBinary(imagesProgram, log)).path;
    const parsed = todo.map((t) => ({ t, dockerfile: readDockerfile(t.dockerfileText) }));
    const specs: ImageSpec[] = parsed.map(({ t, dockerfile }) =>
      imageSpec({ ref: t.ref, binary: t.binary, dockerfile, contextDir: t.contextDir }),
    );
    mkdirSync(o.out, { recursive: true });
    const specFile = join(o.out, 'spec.json');
    writeFileSync(specFile, `${JSON.stringify({ images: specs }, null, 2)}\n`);
    for (const s of specs) log(`building ${s.name}`);
    const r = await execa(tool, ['build', '--spec', specFile, '--out', o.out], {
      env: { SOURCE_DATE_EPOCH: String(epoch) },
      reject: false,
    });
    if (r.exitCode !== 0) throw new Error(`tools/images build failed: ${r.stderr.trim()}`);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { name: string; digest: string; config: string; size: number; archive: string },
      );
    for (const { t, dockerfile } of parsed) {
      const b = lines.find((l) => l.name === t.ref);
      if (!b) throw new Error(`tools/images printed nothing for ${t.ref}`);
      const configBlob = JSON.parse(
        readFileSync(join(o.out, 'oci', 'blobs', 'sha256', b.config.replace('sha256:', '')), 'utf8'),
      ) as Record<string, unknown>;
      const configCheck = compareConfig(dockerfile, configBlob);
      const elf = staticAmd64Elf(t.binary);
      log(`✓ ${t.ref} ${b.digest} (${(b.size / 1024 / 1024).toFixed(1)} MiB)`);
      records.push({
        key: t.key,
        ref: t.ref,
        digest: b.digest,
        size: b.size,
        archive: b.archive,
        configCheck,
        entrypointCheck: elf.why,
      });
    }
  }
  const result = { sourceDateEpoch: epoch, images: records, blocked };
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, BUILT_INDEX), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
