import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kindPin, type ToolPin } from '../../kind/versions.ts';
import { UsageError } from '../../scenarios/index.ts';
import { toolsCli } from '../../scripts/lib/tools/cli.ts';
import { closedPort, serveFiles } from './helpers/serve.ts';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } };
}

test('list shows every pinned tool with version, URL and checksum state', async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'cli-'));
  try {
    const c = io();
    assert.is(await toolsCli(['list'], { cacheDir, platform: 'linux-arm64' }, c.io), 0);
    const text = c.out.join('');
    assert.match(text, 'kind v0.22.0');
    assert.match(text, 'https://get.helm.sh/helm-v3.17.3-linux-arm64.tar.gz');
    assert.match(text, 'kubectl v1.24.17');
    assert.match(text, 'sha256     pinned: linux-amd64, linux-arm64, darwin-amd64, darwin-arm64');
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('path fetches and verifies from the (loopback) download site, prints only the path; verify then passes', async () => {
  const body = "#!/bin/sh\necho 'kind v0.22.0 go1.21.7 linux/amd64'\n";
  const site = await serveFiles({ '/v0.22.0/kind-linux-amd64': body });
  const cacheDir = mkdtempSync(join(tmpdir(), 'cli-'));
  const pin: ToolPin = {
    ...kindPin,
    sha256: { 'linux-amd64': createHash('sha256').update(body).digest('hex') },
  };
  try {
    const c = io();
    const opts = { cacheDir, platform: 'linux-amd64' as const, baseUrl: site.baseUrl, pathEnv: '', pin };
    assert.is(await toolsCli(['path', 'kind'], opts, c.io), 0);
    assert.equal(c.out, [`${join(cacheDir, 'kind-v0.22.0', 'kind')}\n`]);
    const v = io();
    assert.is(await toolsCli(['verify', 'kind'], opts, v.io), 0);
    assert.match(v.out.join(''), /^ok {3}kind .*\(pinned\)/);
  } finally {
    await site.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('fetch failure exits 3 (the runs cannot start) and says what to do', async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'cli-'));
  try {
    const c = io();
    const code = await toolsCli(
      ['fetch', 'kubectl'],
      { cacheDir, platform: 'linux-amd64', baseUrl: `http://127.0.0.1:${await closedPort()}` },
      c.io,
    );
    assert.is(code, 3);
    assert.match(c.err.join(''), 'kubectl: could not download');
    assert.match(c.err.join(''), 'curl -fL -o');
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('bad input is a UsageError (exit 2): unknown command, unknown tool, path without a tool', async () => {
  for (const argv of [['bogus'], ['fetch', 'minikube'], ['path'], ['--nope']]) {
    try {
      await toolsCli(argv, {}, io().io);
      assert.unreachable(`${argv.join(' ')} must fail`);
    } catch (e) {
      assert.instance(e, UsageError, argv.join(' '));
    }
  }
  const c = io();
  assert.is(await toolsCli(['--help'], {}, c.io), 0);
  assert.match(c.out.join(''), 'Usage: npm run tools --');
});

test.run();
