// Builds tools/peers (the Go net/http and grpc-go peer server) with the machine's Go, once: the
// binary is cached in ~/.cache/direktiv-tls-e2e/peers/<key>/peer-server, keyed by go.mod, go.sum,
// main.go and the Go version, so a changed pin or toolchain rebuilds and nothing else does.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheHome } from '../../../scripts/lib/control-plane/build.ts';
import { projectRoot } from '../../../scripts/lib/tools/fsutil.ts';

export const PEERS_MODULE = join(projectRoot, 'tools', 'peers');

let built: Promise<string> | undefined;

/** The peer-server binary: built from the Go module proxy on first use, cached afterwards. */
export function peerServerBinary(log: (l: string) => void = () => {}): Promise<string> {
  built ??= build(log);
  return built;
}

async function build(log: (l: string) => void): Promise<string> {
  const go = await execa('go', ['env', 'GOVERSION'], { reject: false, stdin: 'ignore' }).catch(
    () => undefined,
  );
  if (go?.exitCode !== 0 || !go.stdout.trim()) {
    throw new Error(
      'the real-peers tier builds its Go servers from tools/peers: `go` is not on PATH (install Go 1.24 or newer)',
    );
  }
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) h.update(await readFile(join(PEERS_MODULE, f)));
  h.update(go.stdout.trim());
  const key = h.digest('hex').slice(0, 16);
  const dir = join(cacheHome(), 'peers', key);
  const bin = join(dir, 'peer-server');
  if (existsSync(bin)) return bin;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const started = Date.now();
  log(`building tools/peers with ${go.stdout.trim()} (module download on first use) ...`);
  // nice: small shared machines; CGO off: a static binary, no C toolchain needed.
  const r = await execa(
    'nice',
    ['-n', '10', 'go', 'build', '-trimpath', '-o', join(tmp, 'peer-server'), '.'],
    {
      cwd: PEERS_MODULE,
      env: { CGO_ENABLED: '0', GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local' },
      reject: false,
      stdin: 'ignore',
      all: true,
    },
  );
  if (r.exitCode !== 0) {
    await rm(tmp, { recursive: true, force: true });
    throw new Error(`building tools/peers failed:\n${String(r.all).split('\n').slice(-15).join('\n')}`);
  }
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  log(`built tools/peers in ${Math.round((Date.now() - started) / 1000)} s -> ${bin}`);
  return bin;
}
