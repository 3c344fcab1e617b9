import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { helmPin, kindPin, kubectlPin, type ToolPin } from '../../kind/versions.ts';
import {
  fetchTool,
  lockFile,
  parseChecksumFile,
  parseVersionOutput,
  resolveTool,
  ToolError,
  verifyCachedTool,
} from '../../scripts/lib/tools/fetch.ts';
import { closedPort, serveFiles } from './helpers/serve.ts';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const script = (line: string) => `#!/bin/sh\necho '${line}'\n`;
const goodKind = script('kind v0.22.0 go1.21.7 linux/amd64');
const kindAsset = '/v0.22.0/kind-linux-amd64';
const platform = 'linux-amd64' as const;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tools-test-'));
}

async function rejects(p: Promise<unknown>): Promise<ToolError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, ToolError);
    return e as ToolError;
  }
  throw new Error('expected a ToolError');
}

test('bad checksum: a download that does not match the pinned sha256 is rejected and deleted', async () => {
  const site = await serveFiles({ [kindAsset]: goodKind });
  const cacheDir = tmp();
  try {
    const e = await rejects(fetchTool('kind', { baseUrl: site.baseUrl, cacheDir, platform }));
    assert.match(e.message, `checksum mismatch for ${site.baseUrl}${kindAsset}`);
    assert.match(e.message, `expected sha256 ${kindPin.sha256[platform]} (pinned in kind/versions.ts)`);
    assert.match(e.message, `got ${sha(goodKind)}`);
    assert.match(e.message, 'deleted');
    // Nothing of the download is left: no binary, no scratch folder.
    assert.equal(readdirSync(cacheDir), []);
  } finally {
    await site.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('good download: verified against the pin, version checked, cached; the next call needs no network', async () => {
  const site = await serveFiles({ [kindAsset]: goodKind });
  const cacheDir = tmp();
  const pin: ToolPin = { ...kindPin, sha256: { [platform]: sha(goodKind) } };
  try {
    const first = await fetchTool('kind', { baseUrl: site.baseUrl, cacheDir, platform, pin });
    assert.is(first.source, 'download');
    assert.is(first.verifiedBy, 'pinned');
    assert.is(first.path, join(cacheDir, 'kind-v0.22.0', 'kind'));
    assert.is(readFileSync(first.path, 'utf8'), goodKind);
    assert.is(site.requests.length, 1);
    await site.close();
    const second = await resolveTool('kind', { baseUrl: site.baseUrl, cacheDir, platform, pin, pathEnv: '' });
    assert.is(second.source, 'cache');
    assert.is(second.path, first.path);
    const v = await verifyCachedTool('kind', { cacheDir, platform, pin });
    assert.ok(v.ok, v.detail);
    // A changed pin invalidates the cache (the cached asset is no longer the pinned one).
    const v2 = await verifyCachedTool('kind', {
      cacheDir,
      platform,
      pin: { ...pin, sha256: { [platform]: 'f'.repeat(64) } },
    });
    assert.not.ok(v2.ok);
    assert.match(v2.detail, 'is not the pinned');
  } finally {
    await site.close().catch(() => {});
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('no pinned sha256: trust on first use of the release checksum file, recorded in the lock; a changed asset later fails', async () => {
  const site = await serveFiles({
    [kindAsset]: goodKind,
    [`${kindAsset}.sha256sum`]: `${sha(goodKind)}  kind-linux-amd64\n`,
  });
  const cacheDir = tmp();
  const pin: ToolPin = { ...kindPin, sha256: {} };
  const log: string[] = [];
  try {
    const first = await fetchTool('kind', {
      baseUrl: site.baseUrl,
      cacheDir,
      platform,
      pin,
      log: (l) => log.push(l),
    });
    assert.is(first.verifiedBy, 'tofu-new');
    assert.ok(log.some((l) => l.includes('trusting') && l.includes('.sha256sum')));
    const lock = JSON.parse(readFileSync(lockFile({ cacheDir }), 'utf8'));
    assert.is(lock['kind@v0.22.0/linux-amd64'].sha256, sha(goodKind));
    // The release changes under the same version (and its checksum file with it): the record wins.
    rmSync(join(cacheDir, 'kind-v0.22.0'), { recursive: true });
    const evil = script('kind v0.22.0 go1.21.7 linux/amd64 # changed');
    site.files.set(kindAsset, evil);
    site.files.set(`${kindAsset}.sha256sum`, `${sha(evil)}  kind-linux-amd64\n`);
    const e = await rejects(fetchTool('kind', { baseUrl: site.baseUrl, cacheDir, platform, pin }));
    assert.match(e.message, `expected sha256 ${sha(goodKind)} (recorded in ${lockFile({ cacheDir })})`);
    assert.match(e.message, `got ${sha(evil)}`);
  } finally {
    await site.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('helm: the .tar.gz is verified, then the binary is extracted with the system tar', async () => {
  const src = tmp();
  mkdirSync(join(src, 'linux-amd64'));
  writeFileSync(join(src, 'linux-amd64', 'helm'), script('v3.17.3+ge4da497'), { mode: 0o755 });
  execFileSync('tar', ['-czf', join(src, 'helm.tgz'), '-C', src, 'linux-amd64/helm']);
  const tgz = readFileSync(join(src, 'helm.tgz'));
  const site = await serveFiles({ '/helm-v3.17.3-linux-amd64.tar.gz': tgz });
  const cacheDir = tmp();
  try {
    const pin: ToolPin = { ...helmPin, sha256: { [platform]: sha(tgz) } };
    const r = await fetchTool('helm', { baseUrl: site.baseUrl, cacheDir, platform, pin });
    assert.is(r.path, join(cacheDir, 'helm-v3.17.3', 'helm'));
    assert.is(r.assetSha256, sha(tgz));
    assert.match(execFileSync(r.path, ['version', '--short'], { encoding: 'utf8' }), 'v3.17.3');
  } finally {
    await site.close();
    rmSync(cacheDir, { recursive: true, force: true });
    rmSync(src, { recursive: true, force: true });
  }
});

test('a download that reports another version is refused (wrong asset)', async () => {
  const wrong = script('kind v0.21.0 go1.21.7 linux/amd64');
  const site = await serveFiles({ [kindAsset]: wrong });
  const cacheDir = tmp();
  try {
    const pin: ToolPin = { ...kindPin, sha256: { [platform]: sha(wrong) } };
    const e = await rejects(fetchTool('kind', { baseUrl: site.baseUrl, cacheDir, platform, pin }));
    assert.match(e.message, 'reports version v0.21.0, expected v0.22.0');
    assert.not.ok(existsSync(join(cacheDir, 'kind-v0.22.0', 'kind')));
  } finally {
    await site.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('network failure names the URL and suggests the manual download', async () => {
  const port = await closedPort();
  const cacheDir = tmp();
  try {
    const base = `http://127.0.0.1:${port}`;
    const e = await rejects(fetchTool('kubectl', { baseUrl: base, cacheDir, platform }));
    assert.match(e.message, `could not download ${base}/v1.24.17/bin/linux/amd64/kubectl: ECONNREFUSED`);
    assert.match(e.hint, 'curl -fL -o');
    assert.match(e.hint, 'kubectl v1.24.17 on PATH');
    assert.equal(readdirSync(cacheDir), []);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('HTTP 404 names the URL and the status', async () => {
  const site = await serveFiles({});
  const cacheDir = tmp();
  try {
    const e = await rejects(fetchTool('kind', { baseUrl: site.baseUrl, cacheDir, platform }));
    assert.match(e.message, `could not download ${site.baseUrl}${kindAsset}: HTTP 404`);
  } finally {
    await site.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a kind on PATH with another version is ignored (and said so); one with the exact version is used', async () => {
  const wrongDir = tmp();
  const rightDir = tmp();
  writeFileSync(join(wrongDir, 'kind'), script('kind v0.20.0 go1.20.4 linux/amd64'), { mode: 0o755 });
  writeFileSync(join(rightDir, 'kind'), goodKind, { mode: 0o755 });
  const site = await serveFiles({ [kindAsset]: goodKind });
  const cacheDir = tmp();
  const pin: ToolPin = { ...kindPin, sha256: { [platform]: sha(goodKind) } };
  try {
    const log: string[] = [];
    const a = await resolveTool('kind', {
      baseUrl: site.baseUrl,
      cacheDir,
      platform,
      pin,
      pathEnv: wrongDir,
      log: (l) => log.push(l),
    });
    assert.is(a.source, 'download', 'the mismatching PATH kind must not be used');
    assert.ok(
      log.some((l) =>
        l.includes(`ignoring ${join(wrongDir, 'kind')}: it reports v0.20.0, the harness pins v0.22.0`),
      ),
    );
    rmSync(join(cacheDir, 'kind-v0.22.0'), { recursive: true });
    const b = await resolveTool('kind', {
      baseUrl: site.baseUrl,
      cacheDir,
      platform,
      pin,
      pathEnv: `${wrongDir}:${rightDir}`,
    });
    assert.is(b.source, 'path');
    assert.is(b.path, join(rightDir, 'kind'));
  } finally {
    await site.close();
    for (const d of [wrongDir, rightDir, cacheDir]) rmSync(d, { recursive: true, force: true });
  }
});

test('version parsing for each tool', () => {
  assert.is(parseVersionOutput('kind', 'kind v0.22.0 go1.21.7 linux/amd64\n'), 'v0.22.0');
  assert.is(parseVersionOutput('kind', 'kind v0.23.0-alpha+abc go1.22 darwin/arm64'), 'v0.23.0-alpha+abc');
  assert.is(parseVersionOutput('helm', 'v3.17.3+ge4da497\n'), 'v3.17.3');
  assert.is(parseVersionOutput('helm', 'version.BuildInfo{Version:"v3.17.3"}'), undefined);
  const kc = JSON.stringify({
    clientVersion: { gitVersion: 'v1.24.17', platform: 'linux/amd64' },
    kustomizeVersion: 'v4.5.4',
  });
  assert.is(parseVersionOutput('kubectl', kc), 'v1.24.17');
  assert.is(parseVersionOutput('kubectl', 'Client Version: v1.24.17'), undefined);
});

test('checksum files: sha256sum format matches the asset name; kubectl .sha256 is the bare digest', () => {
  const h = 'a'.repeat(64);
  assert.is(parseChecksumFile(`${h}  kind-linux-amd64\n`, 'sha256sum', 'kind-linux-amd64'), h);
  assert.is(parseChecksumFile(`${h}  kind-darwin-arm64\n`, 'sha256sum', 'kind-linux-amd64'), undefined);
  assert.is(parseChecksumFile(`${h.toUpperCase()}\n`, 'bare', 'kubectl'), h);
  assert.is(parseChecksumFile('<html>not found</html>', 'bare', 'kubectl'), undefined);
});

test('every official platform has a pinned sha256 for kind, helm and kubectl', () => {
  for (const pin of [kindPin, helmPin, kubectlPin]) {
    for (const p of ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64'] as const) {
      assert.match(pin.sha256[p] ?? '', /^[0-9a-f]{64}$/, `${pin.name} ${p}`);
    }
  }
});

test.run();
