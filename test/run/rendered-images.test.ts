import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { direktivValues } from '../../scenarios/direktiv-values.ts';
import { buildScenario } from '../../scenarios/index.ts';
import { helmTemplate } from '../../scripts/lib/chart/helm.ts';
import { pinnedDirektivImages } from '../../scripts/lib/plan/artifacts.ts';
import { renderedImages } from '../../scripts/lib/run/rendered-images.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

test('every container and init container image of every workload kind', () => {
  const text = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec: {template: {spec: {initContainers: [{name: i, image: busybox:1.36}], containers: [{name: c, image: vorteil/api:v0.4.1}, {name: f, image: fluent/fluent-bit:1.8}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: b}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: vorteil/flow:v0.4.1}]}}}}}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: vorteil/api:v0.4.1}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {image: not-a-container}
`;
  assert.equal(renderedImages(text), [
    'busybox:1.36',
    'fluent/fluent-bit:1.8',
    'vorteil/api:v0.4.1',
    'vorteil/flow:v0.4.1',
  ]);
});

test('a Direktiv-like chart rendered with the run values yields the pinned images', async () => {
  const s = buildScenario({ profile: 'full-mtls' });
  const text = await helmTemplate({
    helm: await testHelm(),
    chartDir: 'test/fixtures/charts/direktiv-like',
    releaseName: 'direktiv',
    namespace: 'default',
    values: direktivValues(s, { images: pinnedDirektivImages() }),
  });
  assert.equal(renderedImages(text), [
    'docker.io/vorteil/api:v0.4.1',
    'docker.io/vorteil/direktiv-ui:v0.4.1',
    'docker.io/vorteil/flow:v0.4.1',
    'docker.io/vorteil/functions:v0.4.1',
    'docker.io/vorteil/secrets:v0.4.1',
  ]);
});

test.run();
