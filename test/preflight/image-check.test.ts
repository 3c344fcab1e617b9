// The pure parts of the image preflight: reference normalisation, the WWW-Authenticate parser,
// built-image rows and the table. The client itself is tested against the real registry
// (distribution v3) with TLS and token auth in test/registry/ (npm run test:registry).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtImages } from '../../kind/built-images.ts';
import { loadImageOverrides } from '../../kind/images.ts';
import {
  BUILT_INDEX,
  checkImages,
  type ImageCheckRow,
  imageCheckProblems,
  imageCheckTable,
  resolvedDigests,
} from '../../scripts/lib/preflight/image-check.ts';
import { imagesToPull } from '../../scripts/lib/preflight/images.ts';
import { parseChallenges } from '../../scripts/lib/registry/challenge.ts';
import type { ManifestResult, RegistryClient } from '../../scripts/lib/registry/client.ts';
import { registryRef } from '../../scripts/lib/registry/reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

test('docker.io names: official images get library/, the API host is registry-1.docker.io', () => {
  const pg = registryRef('postgres:12.6-alpine');
  assert.equal(
    [pg.registry, pg.apiHost, pg.repository, pg.reference],
    ['docker.io', 'registry-1.docker.io', 'library/postgres', '12.6-alpine'],
  );
  const hub = registryRef('index.docker.io/vorteil/flow:v0.4.1');
  assert.equal([hub.registry, hub.repository], ['docker.io', 'vorteil/flow']);
  assert.is(registryRef('docker.io/vorteil/sidecar').reference, 'latest');
});

test('a digest wins over a tag; other registries keep their host and port', () => {
  const r = registryRef(`kindest/node:v1.24.17@${D}`);
  assert.is(r.reference, D);
  assert.is(r.tag, 'v1.24.17');
  const gcr = registryRef(`gcr.io/knative-releases/knative.dev/serving/cmd/queue@${D}`);
  assert.equal([gcr.apiHost, gcr.repository], ['gcr.io', 'knative-releases/knative.dev/serving/cmd/queue']);
  const local = registryRef('127.0.0.1:5443/vorteil/api:v0.4.1');
  assert.equal(
    [local.registry, local.apiHost, local.repository],
    ['127.0.0.1:5443', '127.0.0.1:5443', 'vorteil/api'],
  );
  assert.throws(() => registryRef('docker.io/Vorteil/API:v1'), /repository name/);
});

test('WWW-Authenticate: Docker Hub bearer challenge with quoted commas, several challenges, error params', () => {
  const [hub] = parseChallenges(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/postgres:pull,push"',
  );
  assert.is(hub?.scheme, 'bearer');
  assert.equal(hub?.params, {
    realm: 'https://auth.docker.io/token',
    service: 'registry.docker.io',
    scope: 'repository:library/postgres:pull,push',
  });
  const two = parseChallenges('Basic realm="quay", Bearer realm="https://q/t",error="invalid_token"');
  assert.equal(
    two.map((c) => c.scheme),
    ['basic', 'bearer'],
  );
  assert.is(two[1]?.params.error, 'invalid_token');
  assert.equal(parseChallenges('Bearer realm=https://unquoted/token,service=reg')[0]?.params, {
    realm: 'https://unquoted/token',
    service: 'reg',
  });
});

/** Answers from a table, for the row logic only (no HTTP: the real client is tested on a real registry). */
function answering(answers: Record<string, Partial<ManifestResult>>): RegistryClient {
  return {
    checkManifest: async (ref: string) => ({
      ref: registryRef(ref),
      status: 'present',
      detail: '',
      ...answers[ref],
    }),
  } as unknown as RegistryClient;
}

const overrides = loadImageOverrides();

test('built mode: Direktiv images come from the build index, a blocked build names its error; others are asked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'built-'));
  writeFileSync(
    join(dir, BUILT_INDEX),
    JSON.stringify({
      images: [
        { key: 'direktiv.api', ref: 'docker.io/vorteil/api:v0.4.1', digest: D },
        {
          key: 'direktiv.flow',
          ref: 'docker.io/vorteil/flow:v0.4.1',
          blocked: 'go mod download: 403 Forbidden',
        },
      ],
    }),
  );
  const images = imagesToPull(overrides).filter((i) =>
    ['direktiv.api', 'direktiv.flow', 'direktiv.secrets', 'direktiv.ui', 'direktiv.postgres'].includes(
      i.key ?? '',
    ),
  );
  const rows = await checkImages(images, {
    client: answering({ 'postgres:12.6-alpine': { digest: D } }),
    overrides,
    mode: 'built',
    builtDir: dir,
  });
  const by = (k: string) => rows.find((r) => r.key === k) as ImageCheckRow;
  assert.equal(
    [by('direktiv.api').source, by('direktiv.api').status, by('direktiv.api').ok],
    ['built', 'built', true],
  );
  assert.is(by('direktiv.flow').status, 'not-built');
  assert.match(by('direktiv.flow').detail, '403 Forbidden');
  assert.match(by('direktiv.secrets').hint, 'npm run images -- --out');
  // direktiv-ui is not a command of the Go module: always pulled.
  assert.is(by('direktiv.ui').source, 'pulled');
  assert.is(by('direktiv.postgres').digest, D);
  assert.equal(builtImages.map((b) => b.key).sort(), [
    'direktiv.api',
    'direktiv.flow',
    'direktiv.functions',
    'direktiv.initPod',
    'direktiv.secrets',
    'direktiv.sidecar',
  ]);
});

test('upstream mode: a missing tag and an unreachable registry are problems naming the image and key', async () => {
  const images = imagesToPull(overrides).filter((i) =>
    ['direktiv.sidecar', 'knative.queue', 'certManager.webhook', 'direktiv.postgres'].includes(i.key ?? ''),
  );
  const rows = await checkImages(images, {
    client: answering({
      'docker.io/vorteil/sidecar:v0.4.1': {
        status: 'missing-tag',
        detail: 'tag v0.4.1 is not in docker.io/vorteil/sidecar',
      },
      [overrides.images.find((e) => e.key === 'knative.queue')!.use]: {
        status: 'unreachable',
        detail: 'gcr.io: connection refused',
      },
      'postgres:12.6-alpine': { digest: D },
      'quay.io/jetstack/cert-manager-webhook:v1.13.6': { digest: D },
    }),
    overrides,
    mode: 'upstream',
  });
  const problems = imageCheckProblems(rows);
  assert.is(problems.length, 2);
  const sidecar = problems.find((p) => p.message.includes('sidecar'));
  assert.match(sidecar!.message, 'image docker.io/vorteil/sidecar:v0.4.1 (direktiv.sidecar) [missing-tag]');
  assert.match(sidecar!.hint, "'direktiv.sidecar'");
  assert.ok(problems.some((p) => p.message.includes('(knative.queue) [unreachable]')));
  assert.equal(Object.values(resolvedDigests(rows)), [D, D]);
  const table = imageCheckTable(rows);
  assert.match(table, '2 of 4 images resolved, 2 not usable:');
  assert.match(table, 'registry gcr.io (unreachable): gcr.io: connection refused\n    images: knative.queue');
  assert.match(table, "pulled by Direktiv's functions controller (code, PullAlways)");
});

test.run();
