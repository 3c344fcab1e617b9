import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { loadImageOverrides, parseImageOverrides } from '../../kind/images.ts';
import { needsPostRenderer, postRendererFlags } from '../../scripts/lib/preflight/post-render.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

const run = promisify(execFile);

test('the real helm 3.17.3 runs the post-renderer: a hard-coded image is rewritten to its override', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'postrender-'));
  try {
    const chart = join(dir, 'chart');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: t\nversion: 0.1.0\n');
    writeFileSync(
      join(chart, 'templates', 'd.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: db\nspec:\n  containers:\n    - name: db\n      image: postgres:12.6-alpine\n    - name: log\n      image: fluent/fluent-bit:1.8\n',
    );
    const images = join(dir, 'images.yaml');
    writeFileSync(
      images,
      stringify({
        version: 1,
        images: {
          'direktiv.postgres': {
            original: 'postgres:12.6-alpine',
            use: 'public.ecr.aws/docker/library/postgres:12.6-alpine',
            via: 'post-renderer',
            chart: 'direktiv',
          },
          'direktiv.fluentbit': {
            original: 'fluent/fluent-bit:1.8',
            via: 'post-renderer',
            chart: 'direktiv',
          },
        },
      }),
    );
    const helm = await testHelm();
    const { stdout } = await run(helm, ['template', 'x', chart, ...postRendererFlags(images)], {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(dir, 'h'),
        HELM_CONFIG_HOME: join(dir, 'h'),
        HELM_DATA_HOME: join(dir, 'h'),
      },
    });
    assert.match(stdout, 'image: public.ecr.aws/docker/library/postgres:12.6-alpine');
    assert.match(stdout, 'image: fluent/fluent-bit:1.8');
    assert.not.match(stdout, 'image: postgres:12.6-alpine');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the post-renderer is needed only when an image of that chart is overridden', () => {
  assert.not.ok(needsPostRenderer(loadImageOverrides(), 'knative'));
  const o = parseImageOverrides({
    version: 1,
    images: {
      e: {
        original: 'docker.io/envoyproxy/envoy:v1.17.1',
        use: 'ghcr.io/me/envoy:v1.17.1',
        via: 'post-renderer',
        chart: 'knative',
      },
    },
  });
  assert.ok(needsPostRenderer(o, 'knative'));
  assert.not.ok(needsPostRenderer(o, 'direktiv'));
});

test.run();
