// The traffic workflow's YAML: v0.4.1 syntax (reusable + isolated functions, action states with
// PT3M timeouts, jq transforms), configurable images, and ids that v0.4.1 accepts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { buildScenario } from '../../scenarios/index.ts';
import {
  DEFAULT_ISOLATED_CMD,
  DEFAULT_KNATIVE_CMD,
  DEFAULT_KNATIVE_IMAGE,
  trafficWorkflow,
  trafficWorkflowId,
  trafficWorkflowYaml,
} from '../../scripts/lib/direktiv-api/workflow.ts';

test('default workflow: a reusable Knative echo and an isolated shell function, PT3M timeouts, jq transforms', () => {
  const doc = YAML.parse(trafficWorkflowYaml());
  assert.equal(Object.keys(doc), ['id', 'description', 'functions', 'states']);
  assert.is(doc.id, 'tls-traffic');
  assert.equal(doc.functions, [
    { id: 'kn', type: 'reusable', image: DEFAULT_KNATIVE_IMAGE, cmd: DEFAULT_KNATIVE_CMD, scale: 1 },
    { id: 'iso', type: 'isolated', image: 'docker.io/library/busybox:1.36', cmd: DEFAULT_ISOLATED_CMD },
  ]);
  assert.equal(doc.states, [
    {
      id: 'call-knative',
      type: 'action',
      timeout: 'PT3M',
      action: { function: 'kn', input: { hello: 'knative' } },
      transform: { knative: 'jq(.return)' },
      transition: 'call-isolated',
    },
    {
      id: 'call-isolated',
      type: 'action',
      timeout: 'PT3M',
      action: { function: 'iso', input: { hello: 'isolated' } },
      transform: { knative: 'jq(.knative)', isolated: 'jq(.return)' },
    },
  ]);
  // The isolated function follows the file protocol: output.json, an out.log line, then done.
  assert.match(doc.functions[1].cmd, 'cp /direktiv-data/input.json /direktiv-data/output.json');
  assert.match(doc.functions[1].cmd, 'echo iso-ran > /direktiv-data/out.log');
  assert.match(doc.functions[1].cmd, /touch \/direktiv-data\/done'$/);
  // The Knative echo server listens where the sidecar forwards (localhost:8080).
  assert.match(doc.functions[0].cmd, '.listen(8080)');
  assert.not.match(doc.functions[0].cmd, /"[^"]*"[^"]*"/, 'no nested double quotes for go-shellwords');
});

test('images are configurable; a custom Knative image runs its own entrypoint unless a cmd is given', () => {
  const doc = YAML.parse(
    trafficWorkflowYaml({
      id: 'nettest',
      knativeImage: 'localhost:5000/echo:1@sha256:' + 'a'.repeat(64),
      isolatedImage: 'registry.example/tools/alpine:3.19',
      timeout: 'PT90S',
      scale: 0,
    }),
  );
  assert.equal(doc.functions[0], {
    id: 'kn',
    type: 'reusable',
    image: `localhost:5000/echo:1@sha256:${'a'.repeat(64)}`,
  });
  assert.is(doc.functions[1].image, 'registry.example/tools/alpine:3.19');
  assert.is(doc.states[0].timeout, 'PT90S');
  const withCmd = YAML.parse(
    trafficWorkflowYaml({ knativeImage: 'docker.io/vorteil/debug:v2', knativeCmd: '/debug' }),
  );
  assert.is(withCmd.functions[0].cmd, '/debug');
});

test('invalid ids, images and timeouts are refused with what v0.4.1 accepts', () => {
  assert.throws(
    () => trafficWorkflowYaml({ id: 'Bad_ID' }),
    /invalid workflow id 'Bad_ID': Direktiv v0.4.1 ids must match/,
  );
  assert.throws(() => trafficWorkflowYaml({ id: 'ends-' }), /invalid workflow id 'ends-'/);
  assert.throws(
    () => trafficWorkflowYaml({ knativeImage: 'has space:1' }),
    /invalid Knative function image 'has space:1'/,
  );
  assert.throws(
    () => trafficWorkflowYaml({ timeout: '3m' }),
    /invalid action timeout '3m': use an ISO 8601 duration/,
  );
  assert.throws(() => trafficWorkflowYaml({ scale: 5 }), /max-scale 3/);
});

test('one workflow id per scenario, valid for v0.4.1, as the --output writer calls it', () => {
  assert.is(trafficWorkflowId({ name: 'full-mtls' }), 'traffic-full-mtls');
  assert.is(trafficWorkflowId({ name: 'custom:ingress+upstream' }), 'traffic-custom-ingress-upstream');
  const scenario = buildScenario({ profile: 'grpc-tls' });
  const yaml = trafficWorkflow({
    scenario,
    knativeImage: null,
    isolatedImage: 'docker.io/library/alpine:3.19',
  });
  const doc = YAML.parse(yaml);
  assert.is(doc.id, 'traffic-grpc-tls');
  assert.is(doc.functions[0].image, DEFAULT_KNATIVE_IMAGE);
  assert.is(doc.functions[1].image, 'docker.io/library/alpine:3.19');
});

test.run();
