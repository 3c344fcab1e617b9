// The image preflight against a real registry: CNCF Distribution v3.0.0 (built from its module,
// cached) on 127.0.0.1 with TLS from the project's PKI and token authentication (our token server
// signs, Distribution verifies). An image is pushed with go-containerregistry (tools/images) as a
// real client would, then the preflight's client must find it, tell a missing tag from a missing
// repository, refuse an expired token, say so when the registry is down, and verify TLS against
// the test CA only.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { buildImages, PROOF_KEY, PROOF_REF } from '../../scripts/lib/images/build.ts';
import { RegistryClient } from '../../scripts/lib/registry/client.ts';
import {
  freePort,
  type LocalRegistry,
  registryBinary,
  startLocalRegistry,
} from '../../scripts/lib/registry/local-registry.ts';
import { projectRoot } from '../../scripts/lib/tools/fsutil.ts';
import { ensureGoBinary, imagesProgram } from '../../scripts/lib/tools/go-build.ts';

let reg: LocalRegistry;
let imagesTool: string;
let pushedDigest: string;
const work = mkdtempSync(join(tmpdir(), 'registry-tier-'));

test.before(async () => {
  const log = (l: string) => process.stderr.write(`  ${l}\n`);
  const registry = await registryBinary(log);
  imagesTool = (await ensureGoBinary(imagesProgram, log)).path;
  reg = await startLocalRegistry({ binary: registry, log });
  // A small image: one layer with a file, built by the project's builder and pushed with ggcr.
  writeFileSync(join(work, 'hello.txt'), 'hello from the registry tier\n');
  const spec = {
    images: [
      {
        name: 'docker.io/vorteil/api:v0.4.1',
        layers: [
          {
            files: [{ src: join(work, 'hello.txt'), dst: '/hello.txt', mode: 0o644 }],
            createdBy: 'COPY hello.txt /',
          },
        ],
        config: { Entrypoint: ['/hello'], Env: ['PATH=/bin'] },
      },
    ],
  };
  writeFileSync(join(work, 'spec.json'), JSON.stringify(spec));
  // Async (execa): the token server answering the push lives in this process's event loop.
  const built = (
    await execa(imagesTool, ['build', '--spec', join(work, 'spec.json'), '--out', join(work, 'out')], {
      env: { SOURCE_DATE_EPOCH: '1630627200' },
    })
  ).stdout;
  const rec = JSON.parse(built.trim().split('\n')[0] as string) as { digest: string; archive: string };
  pushedDigest = rec.digest;
  await execa(imagesTool, [
    'push',
    '--oci',
    join(work, 'out', 'oci'),
    '--name',
    'docker.io/vorteil/api:v0.4.1',
    '--to',
    `${reg.host}/vorteil/api:v0.4.1`,
    '--ca',
    reg.caFile,
    '--username',
    reg.pusher.username,
    '--password',
    reg.pusher.password,
  ]);
});

test.after(async () => {
  await reg?.stop();
});

const client = () => new RegistryClient({ ca: reg.caPem, timeoutMs: 5000 });

test('present: HEAD answers with the digest the builder computed (token fetched from the realm)', async () => {
  const c = client();
  const r = await c.checkManifest(`${reg.host}/vorteil/api:v0.4.1`);
  await c.close();
  assert.is(r.status, 'present', r.detail);
  assert.is(r.digest, pushedDigest);
  assert.is(r.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.is(c.tokenFetches, 1);
  // By digest too, and the answer is the same digest.
  const c2 = client();
  const byDigest = await c2.checkManifest(`${reg.host}/vorteil/api@${pushedDigest}`);
  await c2.close();
  assert.is(byDigest.status, 'present', byDigest.detail);
  assert.is(byDigest.digest, pushedDigest);
});

test('a missing tag is told apart from a missing repository', async () => {
  const c = client();
  const tag = await c.checkManifest(`${reg.host}/vorteil/api:v0.4.0`);
  const repo = await c.checkManifest(`${reg.host}/vorteil/flow:v0.4.1`);
  await c.close();
  assert.is(tag.status, 'missing-tag', tag.detail);
  assert.match(tag.detail, 'tag v0.4.0 is not in');
  assert.match(tag.detail, 'v0.4.1'); // the tags it has
  assert.is(repo.status, 'missing-repository', repo.detail);
  assert.match(repo.detail, 'NAME_UNKNOWN');
});

test('an expired token is refused by the registry and reported as denied with its reason', async () => {
  reg.tokenServer.expired = true;
  try {
    const c = client();
    const r = await c.checkManifest(`${reg.host}/vorteil/api:v0.4.1`);
    await c.close();
    assert.is(r.status, 'denied', r.detail);
    assert.is(r.httpStatus, 401);
    assert.match(r.detail, 'invalid_token');
  } finally {
    reg.tokenServer.expired = false;
  }
});

test('a cached token is reused while valid and renewed once its lifetime is over', async () => {
  let now = Date.now();
  const c = new RegistryClient({ ca: reg.caPem, timeoutMs: 5000, now: () => now });
  assert.is((await c.checkManifest(`${reg.host}/vorteil/api:v0.4.1`)).status, 'present');
  assert.is((await c.checkManifest(`${reg.host}/vorteil/api:v0.4.1`)).status, 'present');
  assert.is(c.tokenFetches, 1);
  now += 301_000; // past expires_in (300 s)
  assert.is((await c.checkManifest(`${reg.host}/vorteil/api:v0.4.1`)).status, 'present');
  assert.is(c.tokenFetches, 2);
  await c.close();
});

test('a registry that cannot be reached is unreachable, not missing', async () => {
  const port = await freePort();
  const c = client();
  const r = await c.checkManifest(`localhost:${port}/vorteil/api:v0.4.1`);
  await c.close();
  assert.is(r.status, 'unreachable');
  assert.match(r.detail, 'connection refused');
});

test('TLS is verified against the test CA: without it the registry is untrusted', async () => {
  const c = new RegistryClient({ timeoutMs: 5000 }); // Node's roots only
  const r = await c.checkManifest(`${reg.host}/vorteil/api:v0.4.1`);
  await c.close();
  assert.is(r.status, 'untrusted', r.detail);
  assert.match(r.detail, 'not trusted');
});

test('npm run image-preflight: exit 0 with every image present, exit 3 naming the missing one', async () => {
  const file = join(work, 'images.yaml');
  const doc = (use: string) =>
    stringify({
      version: 1,
      images: {
        'direktiv.api': {
          original: 'docker.io/vorteil/api:v0.4.1',
          use,
          via: 'helm-value',
          chart: 'direktiv',
          values: ['registry', 'api.image', 'api.tag'],
        },
      },
    });
  const run = (extra: string[]) =>
    execa(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/image-preflight.ts',
        '--images-file',
        file,
        '--ca',
        reg.caFile,
        '--json',
        '-',
        ...extra,
      ],
      { cwd: projectRoot, reject: false },
    );
  // The traffic function images live on Docker Hub, unreachable here: point them at the registry too.
  const fn = [
    '--knative-image',
    `${reg.host}/vorteil/api:v0.4.1`,
    '--isolated-image',
    `${reg.host}/vorteil/api:v0.4.1`,
  ];
  writeFileSync(file, doc(`${reg.host}/vorteil/api:v0.4.1`));
  const ok = await run(fn);
  assert.is(ok.exitCode, 0, ok.stderr || ok.stdout);
  const rows = (JSON.parse(ok.stdout) as { images: { key?: string; digest?: string; status: string }[] })
    .images;
  assert.is(rows.find((r) => r.key === 'direktiv.api')?.digest, pushedDigest);
  writeFileSync(file, doc(`${reg.host}/vorteil/api:v9`));
  const missing = await run(fn);
  assert.is(missing.exitCode, 3, missing.stderr);
  const bad = (JSON.parse(missing.stdout) as { images: { key?: string; status: string }[] }).images.find(
    (r) => r.key === 'direktiv.api',
  );
  assert.is(bad?.status, 'missing-tag');
  const usage = await run(['--images', 'sideways']);
  assert.is(usage.exitCode, 2);
});

test('the builder on a served module: the registry image built twice has one digest, pushed it resolves to it', async () => {
  const a = await buildImages({ out: join(work, 'proof-a'), direktiv: false, proof: true });
  const b = await buildImages({ out: join(work, 'proof-b'), direktiv: false, proof: true });
  const ra = a.images.find((r) => r.key === PROOF_KEY);
  const rb = b.images.find((r) => r.key === PROOF_KEY);
  assert.ok(ra?.digest);
  assert.is(rb?.digest, ra?.digest, 'same inputs, same digest');
  // Its config is its Dockerfile's; its entrypoint a static x86-64 ELF.
  assert.ok(
    ra?.configCheck?.every((c) => c.holds),
    JSON.stringify(ra?.configCheck),
  );
  assert.is(ra?.entrypointCheck, 'static x86-64 ELF');
  const to = `${reg.host}/distribution/registry:v3.0.0`;
  await execa(imagesTool, [
    'push',
    '--oci',
    join(work, 'proof-a', 'oci'),
    '--name',
    PROOF_REF,
    '--to',
    to,
    '--ca',
    reg.caFile,
    '--username',
    reg.pusher.username,
    '--password',
    reg.pusher.password,
  ]);
  const c = client();
  const r = await c.checkManifest(to);
  await c.close();
  assert.is(r.status, 'present', r.detail);
  assert.is(r.digest, ra?.digest);
});

test.run();
