import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseImageOverrides } from '../../kind/images.ts';
import { execaRunner, PreflightErrors, runPreflight } from '../../scripts/lib/preflight/index.ts';
import { dockerInfoJson, fakeRunner, GiB } from './helpers/fake-runner.ts';

const overrides = parseImageOverrides({
  version: 1,
  images: {
    'direktiv.flow': {
      original: 'docker.io/vorteil/flow:v0.4.1',
      via: 'helm-value',
      chart: 'direktiv',
      values: ['registry', 'flow.image', 'flow.tag'],
    },
  },
});

/** Tools that pass: scripts on a private PATH reporting exactly the pinned versions. */
function toolDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pf-tools-'));
  const put = (name: string, out: string) =>
    writeFileSync(join(dir, name), `#!/bin/sh\necho '${out}'\n`, { mode: 0o755 });
  put('kind', 'kind v0.22.0 go1.21.7 linux/amd64');
  put('helm', 'v3.17.3+ge4da497');
  put('kubectl', JSON.stringify({ clientVersion: { gitVersion: 'v1.24.17' } }));
  return dir;
}

async function freePorts(): Promise<[number, number]> {
  const s = createServer();
  await new Promise<void>((d) => s.listen(0, '127.0.0.1', d));
  const a = (s.address() as AddressInfo).port;
  const t = createServer();
  await new Promise<void>((d) => t.listen(0, '127.0.0.1', d));
  const b = (t.address() as AddressInfo).port;
  await new Promise<void>((d) => s.close(() => d()));
  await new Promise<void>((d) => t.close(() => d()));
  return [a, b];
}

test('a full preflight (fake docker/kind, real tools on PATH, real ports): create decision, images pulled', async () => {
  const dir = toolDir();
  const cacheDir = mkdtempSync(join(tmpdir(), 'pf-cache-'));
  const e2eRoot = mkdtempSync(join(tmpdir(), 'pf-e2e-'));
  const [httpPort, httpsPort] = await freePorts();
  const runner = fakeRunner([
    ['docker info', { stdout: dockerInfoJson() }],
    [/kind get clusters$/, { stdout: '' }],
    ['docker image inspect', { exitCode: 1 }],
    ['docker pull', {}],
  ]);
  try {
    const r = await runPreflight({
      runner,
      cluster: 'e2e',
      httpPort,
      httpsPort,
      overrides,
      images: ['docker.io/vorteil/request:v6'],
      // The tool binaries are real scripts: their version commands run for real.
      tools: { pathEnv: dir, cacheDir, runner: execaRunner },
      e2eRoot,
    });
    assert.is(r.cluster.action, 'create');
    assert.is(r.tools.kind.source, 'path');
    assert.is(r.tools.helm.path, join(dir, 'helm'));
    assert.equal(r.pulled?.pulled, ['docker.io/vorteil/flow:v0.4.1', 'docker.io/vorteil/request:v6']);
  } finally {
    for (const d of [dir, cacheDir, e2eRoot]) rmSync(d, { recursive: true, force: true });
  }
});

test('no Docker stops preflight at once with the Docker message (fake runner)', async () => {
  const runner = fakeRunner([
    [
      'docker info',
      {
        exitCode: 1,
        stderr:
          'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
      },
    ],
  ]);
  try {
    await runPreflight({ runner, cluster: 'e2e', httpPort: 18080, httpsPort: 18443, overrides });
    assert.unreachable('preflight must fail');
  } catch (e) {
    assert.instance(e, PreflightErrors);
    const p = (e as PreflightErrors).problems;
    assert.is(p.length, 1);
    assert.match(p[0]!.message, 'Docker is not reachable: Cannot connect to the Docker daemon');
    assert.match(p[0]!.hint, '`npm run lab`');
  }
  assert.is(runner.calls.length, 1, 'nothing else runs without Docker');
});

test('several problems are reported together and nothing is pulled (low memory + busy port + tool download failure)', async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'pf-cache-'));
  const e2eRoot = mkdtempSync(join(tmpdir(), 'pf-e2e-'));
  const busy = createServer();
  await new Promise<void>((d) => busy.listen(0, '127.0.0.1', d));
  const busyPort = (busy.address() as AddressInfo).port;
  const [, freePort] = await freePorts();
  const runner = fakeRunner([['docker info', { stdout: dockerInfoJson({ MemTotal: 2 * GiB }) }]]);
  try {
    await runPreflight({
      runner,
      cluster: 'e2e',
      httpPort: busyPort,
      httpsPort: freePort,
      overrides,
      // An empty PATH and an unreachable download site: the tools cannot be had.
      tools: { pathEnv: '', cacheDir, baseUrl: 'http://127.0.0.1:9' },
      e2eRoot,
    });
    assert.unreachable('preflight must fail');
  } catch (e) {
    assert.instance(e, PreflightErrors);
    const checks = (e as PreflightErrors).problems.map((p) => p.check);
    assert.ok(checks.includes('memory'));
    assert.ok(checks.includes('ports'));
    assert.is(checks.filter((c) => c === 'tools').length, 3);
    assert.match((e as PreflightErrors).message, `host port ${busyPort}`);
  } finally {
    await new Promise<void>((d) => busy.close(() => d()));
    for (const d of [cacheDir, e2eRoot]) rmSync(d, { recursive: true, force: true });
  }
  assert.not.ok(runner.lines().some((l) => l.startsWith('docker pull')));
});

test.run();
