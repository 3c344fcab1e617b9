import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  direktivImageValues,
  findImage,
  ImagesFileError,
  loadImageOverrides,
  normalizeRef,
  overrideHint,
  parseImageOverrides,
  parseImageRef,
  rewriteImages,
  useOf,
} from '../../kind/images.ts';
import { capturePin, certManagerPin, direktivPin, nodeImagePin } from '../../kind/versions.ts';

const o = loadImageOverrides();

test('images.yaml lists every pinned image (node, cert-manager, Direktiv, capture) and the Knative chart digests', () => {
  const originals = new Set(o.images.map((e) => e.original));
  for (const ref of [
    nodeImagePin.image,
    capturePin.image,
    ...Object.values(certManagerPin.images),
    ...Object.values(direktivPin.images),
  ]) {
    assert.ok(originals.has(ref), `${ref} missing from kind/images.yaml`);
  }
  const knative = o.images.filter((e) => e.chart === 'knative');
  assert.is(knative.length, 10);
  assert.ok(
    knative.filter((e) => e.original.startsWith('gcr.io/')).every((e) => parseImageRef(e.original).digest),
  );
  // Unchanged file: every image is used as-is.
  assert.ok(o.images.every((e) => e.use === e.original));
  assert.is(useOf(o, 'kind.node'), nodeImagePin.image);
  assert.is(useOf(o, 'harness.capture'), capturePin.image);
  assert.throws(() => useOf(o, 'nope'), /no image 'nope'/);
});

test('Direktiv chart values carry the images, sidecar and init-pod pinned explicitly, pullPolicy IfNotPresent', () => {
  const v = direktivImageValues(o);
  assert.is(v.pullPolicy, 'IfNotPresent');
  assert.is(v.registry, 'docker.io');
  assert.is(v['flow.image'], 'vorteil/flow');
  assert.is(v['flow.tag'], 'v0.4.1');
  assert.is(v['ui.image'], 'vorteil/direktiv-ui');
  assert.is(v['functions.sidecar'], 'docker.io/vorteil/sidecar:v0.4.1');
  assert.is(v['functions.initPodImage'], 'docker.io/vorteil/init-pod:v0.4.1');
});

function withUse(key: string, use: string) {
  const doc = {
    version: 1,
    images: Object.fromEntries(
      o.images.map((e) => [
        e.key,
        {
          original: e.original,
          use: e.key === key ? use : undefined,
          via: e.via,
          chart: e.chart,
          values: [...e.values],
        },
      ]),
    ),
    direktivValues: { ...o.direktivValues },
  };
  return parseImageOverrides(doc, 'kind/images.yaml');
}

test('overriding a composed Direktiv image must keep one registry for all five', () => {
  const moved = (() => {
    try {
      return withUse('direktiv.api', 'ghcr.io/me/api:v0.4.1');
    } catch (e) {
      return e;
    }
  })();
  assert.instance(moved, ImagesFileError);
  assert.match((moved as Error).message, "share the chart value 'registry'");
  const v = direktivImageValues(withUse('direktiv.api', 'docker.io/mirror/api:v0.4.1-fixed'));
  assert.is(v['api.image'], 'mirror/api');
  assert.is(v['api.tag'], 'v0.4.1-fixed');
});

test('post-renderer rewrite replaces whole references only, in containers and in ConfigMaps', () => {
  const queue = o.images.find((e) => e.key === 'knative.queue')!;
  const ov = withUse('knative.queue', 'ghcr.io/me/queue@' + parseImageRef(queue.original).digest);
  const manifest = [
    `        image: ${queue.original}`,
    `  queueSidecarImage: ${queue.original}`,
    '        image: "postgres:12.6-alpine"',
    '        image: docker.io/library/postgres:12.6-alpine',
  ].join('\n');
  const out = rewriteImages(manifest, ov);
  assert.not.match(out, queue.original);
  assert.is(out.split('ghcr.io/me/queue@').length - 1, 2);
  const pg = rewriteImages(
    manifest,
    withUse('direktiv.postgres', 'public.ecr.aws/docker/library/postgres:12.6-alpine'),
  );
  assert.match(pg, 'image: "public.ecr.aws/docker/library/postgres:12.6-alpine"');
  assert.match(pg, 'image: docker.io/library/postgres:12.6-alpine', 'a longer reference is left alone');
});

test('override hints name the key and the chart value', () => {
  const sidecar = o.images.find((e) => e.key === 'direktiv.sidecar')!;
  assert.is(
    overrideHint(sidecar),
    "set 'use:' under 'direktiv.sidecar' in kind/images.yaml (the harness passes it to the direktiv chart as 'functions.sidecar')",
  );
  const flow = o.images.find((e) => e.key === 'direktiv.flow')!;
  assert.match(overrideHint(flow), "'registry' + 'flow.image' + 'flow.tag'");
});

test('references: parsing, normalising, finding by either name', () => {
  assert.equal(parseImageRef('postgres:12.6-alpine'), { repository: 'postgres', tag: '12.6-alpine' });
  assert.equal(parseImageRef('localhost:5000/x/y:1'), {
    registry: 'localhost:5000',
    repository: 'x/y',
    tag: '1',
  });
  assert.throws(() => parseImageRef('a b'), /not an image reference/);
  assert.throws(() => parseImageRef('x@sha256:123'), /bad digest/);
  assert.is(normalizeRef('postgres:12.6-alpine'), 'docker.io/library/postgres:12.6-alpine');
  assert.is(normalizeRef('vorteil/flow'), 'docker.io/vorteil/flow:latest');
  assert.is(findImage(o, 'docker.io/library/postgres:12.6-alpine')?.key, 'direktiv.postgres');
});

test('a malformed images.yaml gets an error naming the field', () => {
  assert.throws(
    () => parseImageOverrides({ version: 2, images: {} }, 'f.yaml'),
    /f\.yaml: unsupported version 2/,
  );
  assert.throws(
    () =>
      parseImageOverrides(
        { version: 1, images: { a: { original: 'x:1', via: 'helm-value', chart: 'direktiv' } } },
        'f.yaml',
      ),
    /images\.a: via helm-value needs 'values'/,
  );
  assert.throws(
    () =>
      parseImageOverrides(
        { version: 1, images: { a: { original: 'x:1', via: 'magic', chart: 'c' } } },
        'f.yaml',
      ),
    /images\.a\.via: 'magic' is not one of/,
  );
  assert.throws(
    () =>
      parseImageOverrides(
        { version: 1, images: {}, registryMirrors: { 'docker.io': ['mirror:5000'] } },
        'f.yaml',
      ),
    /must be an http:\/\/ or https:\/\/ URL/,
  );
});

test.run();
