import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadImageOverrides, parseImageOverrides } from '../../kind/images.ts';
import {
  imagesToPull,
  loadMissingImages,
  PreflightErrors,
  pullImages,
} from '../../scripts/lib/preflight/index.ts';
import { fakeRunner } from './helpers/fake-runner.ts';

const overrides = loadImageOverrides();

test('the static list holds every image in kind/images.yaml, each with its key', () => {
  const list = imagesToPull(overrides);
  assert.is(list.length, overrides.images.length);
  assert.ok(list.some((i) => i.key === 'direktiv.sidecar' && i.ref === 'docker.io/vorteil/sidecar:v0.4.1'));
  assert.ok(list.every((i) => i.hint.includes('kind/images.yaml')));
});

test('rendered references are merged: known ones get their key, unknown ones are added once', () => {
  const list = imagesToPull(overrides, [
    'postgres:12.6-alpine', // = direktiv.postgres (written without registry)
    'docker.io/library/postgres:12.6-alpine', // same image again
    'docker.io/vorteil/request:v6', // a function image the run chose
    'docker.io/vorteil/request:v6',
  ]);
  assert.is(list.length, overrides.images.length + 1);
  const fn = list.find((i) => i.ref === 'docker.io/vorteil/request:v6');
  assert.ok(fn);
  assert.is(fn!.key, undefined);
});

test('an unpullable image (fake runner) is named with its images.yaml key and the chart value that overrides it', async () => {
  const list = imagesToPull(overrides).filter(
    (i) => i.key === 'direktiv.sidecar' || i.key === 'knative.queue' || i.key === 'direktiv.api',
  );
  const runner = fakeRunner([
    ['docker image inspect', { exitCode: 1, stderr: 'Error: No such image' }],
    [
      'docker pull docker.io/vorteil/sidecar:v0.4.1',
      {
        exitCode: 1,
        stderr:
          'Error response from daemon: manifest for vorteil/sidecar:v0.4.1 not found: manifest unknown: manifest unknown\n',
      },
    ],
    [
      /^docker pull gcr\.io\/knative-releases/,
      { exitCode: 1, stderr: 'Error response from daemon: toomanyrequests: rate limit exceeded\n' },
    ],
    ['docker pull docker.io/vorteil/api:v0.4.1', { stdout: 'v0.4.1: Pulling from vorteil/api\n' }],
  ]);
  let err: PreflightErrors | undefined;
  try {
    await pullImages(runner, list);
  } catch (e) {
    err = e as PreflightErrors;
  }
  assert.instance(err, PreflightErrors);
  assert.is(err!.problems.length, 2, 'both failures are reported together');
  const sidecar = err!.problems.find((p) => p.message.includes('sidecar'))!;
  assert.match(
    sidecar.message,
    'cannot pull docker.io/vorteil/sidecar:v0.4.1 (direktiv.sidecar): it does not exist (any more)',
  );
  assert.match(sidecar.hint, "set 'use:' under 'direktiv.sidecar' in kind/images.yaml");
  assert.match(sidecar.hint, "to the direktiv chart as 'functions.sidecar'");
  const queue = err!.problems.find((p) => p.message.includes('queue'))!;
  assert.match(queue.message, '(knative.queue): the registry rate-limited the pull');
  assert.match(queue.hint, 'hard-codes it; the harness rewrites the rendered manifests');
  assert.match(err!.describe(), '→ To use another image');
  // Every image is tried even after a failure.
  assert.ok(runner.lines().includes('docker pull docker.io/vorteil/api:v0.4.1'));
});

test('images already on the host are not pulled again (fake runner)', async () => {
  const list = imagesToPull(overrides).filter((i) => i.key?.startsWith('certManager.'));
  const runner = fakeRunner([['docker image inspect', { stdout: 'sha256:abc\n' }]]);
  const r = await pullImages(runner, list);
  assert.is(r.present.length, 3);
  assert.is(r.pulled.length, 0);
  assert.not.ok(runner.lines().some((l) => l.startsWith('docker pull')));
});

const crictl = JSON.stringify({
  images: [
    {
      repoTags: ['docker.io/library/postgres:12.6-alpine'],
      repoDigests: ['docker.io/library/postgres@sha256:' + '1'.repeat(64)],
    },
    {
      repoTags: [],
      repoDigests: [
        `gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:5af97fa5e19c6fd1e04642e7cf6eb01e6982b4cfee19d8fd16649423277c2eb9`,
      ],
    },
  ],
});

test('loading into kind (fake runner): present images are skipped; tags via kind load docker-image; digests pulled in the node', async () => {
  const runner = fakeRunner([
    ['docker exec e2e-control-plane crictl images -o json', { stdout: crictl }],
    ['kind load docker-image', {}],
    ['docker exec e2e-control-plane crictl pull', {}],
  ]);
  const r = await loadMissingImages(
    runner,
    [
      'postgres:12.6-alpine',
      'gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:5af97fa5e19c6fd1e04642e7cf6eb01e6982b4cfee19d8fd16649423277c2eb9',
      'docker.io/vorteil/flow:v0.4.1',
      'gcr.io/knative-releases/knative.dev/serving/cmd/webhook@sha256:382a1d64ea0686da2b973c95be96fcae29ac25b256b90f5735b1479a93d19c7a',
    ],
    { kind: 'kind', cluster: 'e2e', containerdImageStore: false, dockerMajor: 27, platform: 'linux/amd64' },
  );
  assert.equal(r.alreadyPresent.length, 2);
  assert.equal(r.loaded, ['docker.io/vorteil/flow:v0.4.1']);
  assert.equal(r.pulledInNode.length, 1);
  assert.ok(runner.lines().includes('kind load docker-image docker.io/vorteil/flow:v0.4.1 --name e2e'));
});

test("loading with Docker's containerd image store (fake runner): docker save --platform + kind load image-archive (kind#3795)", async () => {
  const runner = fakeRunner([
    ['docker exec e2e-control-plane crictl images -o json', { stdout: '{"images":[]}' }],
    ['docker save', {}],
    ['kind load image-archive', {}],
  ]);
  const r = await loadMissingImages(runner, ['docker.io/vorteil/flow:v0.4.1'], {
    kind: 'kind',
    cluster: 'e2e',
    containerdImageStore: true,
    dockerMajor: 29,
    platform: 'linux/arm64',
  });
  assert.equal(r.loaded, ['docker.io/vorteil/flow:v0.4.1']);
  const save = runner.lines().find((l) => l.startsWith('docker save'))!;
  assert.match(save, /^docker save --platform linux\/arm64 -o \S+\.tar docker\.io\/vorteil\/flow:v0\.4\.1$/);
  assert.ok(runner.lines().some((l) => /^kind load image-archive \S+\.tar --name e2e$/.test(l)));
  assert.not.ok(runner.lines().some((l) => l.includes('load docker-image')));
});

test('an amd64-only image for an arm64 node (fake runner): saved for its own platform, the emulation named', async () => {
  const runner = fakeRunner([
    ['docker exec e2e-control-plane crictl images -o json', { stdout: '{"images":[]}' }],
    [
      /^docker save --platform linux\/arm64/,
      { exitCode: 1, stderr: 'no match for platform in manifest: not found' },
    ],
    ['docker image inspect --format {{.Os}}/{{.Architecture}}', { stdout: 'linux/amd64\n' }],
    [/^docker save --platform linux\/amd64/, {}],
    ['kind load image-archive', {}],
  ]);
  const logs: string[] = [];
  const r = await loadMissingImages(runner, ['docker.io/vorteil/flow:v0.4.1'], {
    kind: 'kind',
    cluster: 'e2e',
    containerdImageStore: true,
    dockerMajor: 29,
    platform: 'linux/arm64',
    log: (l) => logs.push(l),
  });
  assert.equal(r.loaded, ['docker.io/vorteil/flow:v0.4.1']);
  assert.ok(logs.some((l) => l.includes('exists only for linux/amd64') && l.includes('emulation')));
});

test('an override in images.yaml changes what is pulled', () => {
  const o = parseImageOverrides({
    version: 1,
    images: {
      'direktiv.sidecar': {
        original: 'docker.io/vorteil/sidecar:v0.4.1',
        use: 'ghcr.io/me/sidecar:v0.4.1',
        via: 'helm-value',
        chart: 'direktiv',
        values: ['functions.sidecar'],
      },
    },
  });
  const list = imagesToPull(o, ['docker.io/vorteil/sidecar:v0.4.1']);
  assert.equal(
    list.map((i) => i.ref),
    ['ghcr.io/me/sidecar:v0.4.1'],
  );
});

test.run();
