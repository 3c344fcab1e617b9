import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERRATA, getProfile, PATH_IDS, type PathId } from '../../scenarios/index.ts';
import {
  type DocsOutcome,
  type DocsPathResult,
  type DocsRunResult,
  docsCheck,
  docsCheckMarkdown,
  docsPathResults,
  SIGNATURES,
} from '../../scripts/lib/docs-check/index.ts';

const fullMtls = getProfile('full-mtls').features;

function verdicts(
  over: Partial<Record<PathId, Omit<DocsPathResult, 'path'>>>,
  rest: DocsPathResult['outcome'],
) {
  return PATH_IDS.map((path) => ({ path, outcome: rest, ...over[path] }));
}

function byId(outcomes: DocsOutcome[], id: number): DocsOutcome {
  const o = outcomes.find((x) => x.id === id);
  assert.ok(o, `no outcome for erratum ${id}`);
  return o as DocsOutcome;
}

// The page verbatim on full-mtls: the engine pod never starts (podca: direktiv-cert-knative
// exists only in contour-internal), so the install step times out and nothing is measured.
const stoppedAtInstall: DocsRunResult = {
  features: fullMtls,
  mode: 'as-documented',
  namespace: 'default',
  serviceNamespace: 'direktiv-services-direktiv',
  verdicts: verdicts({}, 'not-run'),
  failedSteps: [
    {
      id: 'install-direktiv',
      title: 'Install Direktiv v0.4.1',
      error:
        'deadline 300s: Deployment default/direktiv not available\n  Pod default/direktiv-6f9c7 ContainerCreating',
      events: [
        {
          involvedObject: { kind: 'Pod', namespace: 'default', name: 'direktiv-6f9c7' },
          reason: 'FailedMount',
          type: 'Warning',
          message: 'MountVolume.SetUp failed for volume "podca" : secret "direktiv-cert-knative" not found',
        },
        {
          involvedObject: { kind: 'Pod', namespace: 'default', name: 'direktiv-6f9c7' },
          reason: 'FailedMount',
          type: 'Warning',
          message: 'MountVolume.SetUp failed for volume "podca" : secret "direktiv-cert-knative" not found',
        },
      ],
    },
  ],
  values: { flow: { functionsCA: 'direktiv-cert-knative', certificates: { flow: 'direktiv-cert-flow' } } },
};

test('every erratum has a signature, and every outcome one erratum', () => {
  for (const e of ERRATA) assert.ok(SIGNATURES[e.id], `erratum ${e.id} has no signature`);
  const out = docsCheck(stoppedAtInstall);
  assert.equal(
    out.map((o) => o.id),
    ERRATA.map((e) => e.id),
  );
});

test('a run stopped at install: erratum 3 broke at the engine Pod with its FailedMount event', () => {
  const out = docsCheck(stoppedAtInstall);
  const e3 = byId(out, 3);
  assert.is(e3.status, 'broke');
  const ev = e3.where.find((w) => w.source === 'event');
  assert.equal(ev, {
    source: 'event',
    object: 'Pod default/direktiv-6f9c7',
    event:
      'FailedMount: MountVolume.SetUp failed for volume "podca" : secret "direktiv-cert-knative" not found',
    detail: 'MountVolume.SetUp failed for volume "podca" : secret "direktiv-cert-knative" not found',
  });
  // The duplicate event is reported once.
  assert.is(e3.where.filter((w) => w.source === 'event').length, 1);
  assert.match(e3.summary, 'broke the run at Pod default/direktiv-6f9c7 (FailedMount:');
  assert.is(e3.fix, ERRATA.find((e) => e.id === 3)?.fix);
});

test('a run stopped at install: what comes after is not reached, environment and harness errata say so', () => {
  const out = docsCheck(stoppedAtInstall);
  for (const id of [1, 4, 5, 6, 7, 10]) {
    const o = byId(out, id);
    assert.is(o.status, 'not-reached', `erratum ${id}: ${o.status}`);
    assert.match(o.summary, 'not reached: the run stopped before');
  }
  assert.is(byId(out, 8).status, 'applied');
  assert.is(byId(out, 9).status, 'applied');
  assert.is(byId(out, 2).status, 'covered');
});

// A run that got through (the podca Secret copied by hand), measuring every path.
const measured: DocsRunResult = {
  features: fullMtls,
  mode: 'as-documented',
  namespace: 'direktiv',
  serviceNamespace: 'direktiv-services-direktiv',
  verdicts: verdicts(
    {
      'api->functions': { outcome: 'fail', reasons: ['expected mtls; 4 plaintext flows (h2c) to :5555'] },
      'engine->functions': { outcome: 'fail', reasons: ['expected mtls; 2 plaintext flows (h2c) to :5555'] },
      'sidecar->engine': { outcome: 'not-run', reasons: ['no Knative service became ready'] },
      'engine->pod': {
        outcome: 'fail',
        reasons: [
          "probe: Hostname/IP does not match certificate's altnames: Host: 10-244-0-7.direktiv-services-direktiv.pod. is not in the cert's altnames",
        ],
      },
      'engine->knative': {
        outcome: 'pass',
        warnings: ['port 80 of the internal Envoy still serves plaintext HTTP (httpProtocol: Enabled)'],
      },
    },
    'pass',
  ),
  failedSteps: [
    {
      id: 'traffic',
      title: 'Drive a workflow through every path',
      error: 'deadline 180s: Knative Service direktiv-services-direktiv/workflow-probe not ready',
    },
  ],
  events: [
    {
      involvedObject: {
        kind: 'Pod',
        namespace: 'direktiv-services-direktiv',
        name: 'workflow-probe-00001-deployment-5c',
      },
      reason: 'FailedMount',
      type: 'Warning',
      message: 'MountVolume.SetUp failed for volume "flowcerts" : secret "direktiv-cert-flow" not found',
    },
    // The same Secret name missing in the release namespace is NOT erratum 4.
    {
      involvedObject: { kind: 'Pod', namespace: 'direktiv', name: 'other' },
      reason: 'FailedMount',
      message: 'MountVolume.SetUp failed for volume "x" : secret "direktiv-cert-flow" not found',
    },
  ],
};

test('a measured run: erratum 1 broke on both 5555 paths, at the grpc ConfigMap and the controller', () => {
  const e1 = byId(docsCheck(measured), 1);
  assert.is(e1.status, 'broke');
  assert.equal(
    e1.where.map((w) => [w.source, w.path, w.object]),
    [
      [
        'verdict',
        'api->functions',
        'ConfigMap direktiv/direktiv-config-grpc, Deployment direktiv/direktiv-functions',
      ],
      [
        'verdict',
        'engine->functions',
        'ConfigMap direktiv/direktiv-config-grpc, Deployment direktiv/direktiv-functions',
      ],
    ],
  );
  assert.match(e1.where[0]?.detail ?? '', '4 plaintext flows');
});

test('a measured run: erratum 4 broke at the Knative pod in the service namespace only', () => {
  const e4 = byId(docsCheck(measured), 4);
  assert.is(e4.status, 'broke');
  assert.equal(
    e4.where.map((w) => w.object),
    ['Pod direktiv-services-direktiv/workflow-probe-00001-deployment-5c'],
  );
  assert.match(e4.where[0]?.event ?? '', 'secret "direktiv-cert-flow" not found');
});

test('a measured run: erratum 5 broke on engine->pod (name mismatch), 6 held, 7 shows the open port 80', () => {
  const out = docsCheck(measured);
  const e5 = byId(out, 5);
  assert.is(e5.status, 'broke');
  assert.equal(e5.where[0]?.path, 'engine->pod');
  assert.is(e5.where[0]?.object, 'Secret direktiv-services-direktiv/direktiv-cert-flow');
  assert.is(byId(out, 6).status, 'held');
  const e7 = byId(out, 7);
  assert.is(e7.status, 'broke');
  assert.match(e7.where[0]?.detail ?? '', 'port 80 of the internal Envoy');
  assert.match(e7.where[0]?.object ?? '', 'config-network (httpProtocol: Enabled)');
  // 3 left no evidence and everything it concerns was measured; 10 concerns sidecar->engine too,
  // which was not measured, so it cannot be called held.
  assert.is(byId(out, 3).status, 'held');
  const e10 = byId(out, 10);
  assert.is(e10.status, 'not-reached');
  assert.is(e10.summary, 'not reached: the run stopped before sidecar->engine could be measured');
});

test('a failed path whose reason is not a name mismatch is not erratum 5', () => {
  const r: DocsRunResult = {
    ...measured,
    verdicts: verdicts(
      { 'engine->pod': { outcome: 'fail', reasons: ['2 plaintext flows to :8890'] } },
      'pass',
    ),
  };
  assert.is(byId(docsCheck(r), 5).status, 'held');
});

test('errata of features the run lacks are not applicable', () => {
  const r: DocsRunResult = {
    ...stoppedAtInstall,
    features: getProfile('grpc-tls').features,
    failedSteps: [],
    verdicts: verdicts({}, 'pass'),
  };
  const out = docsCheck(r);
  for (const id of [3, 5, 6, 7]) assert.is(byId(out, id).status, 'not-applicable', `erratum ${id}`);
  assert.is(byId(out, 1).status, 'held');
  assert.is(byId(out, 4).status, 'held');
});

test('an environment erratum whose fix failed is reported as broke, with the step', () => {
  const r: DocsRunResult = {
    ...stoppedAtInstall,
    failedSteps: [
      {
        id: 'install-direktiv',
        title: 'Install Direktiv v0.4.1',
        error:
          'helm install failed: Error: create: failed to create: namespaces "direktiv-services-direktiv" not found',
      },
    ],
  };
  const e9 = byId(docsCheck(r), 9);
  assert.is(e9.status, 'broke');
  assert.equal(e9.where[0], {
    source: 'step',
    step: 'install-direktiv',
    detail:
      'Install Direktiv v0.4.1: helm install failed: Error: create: failed to create: namespaces "direktiv-services-direktiv" not found',
  });
});

test('Secret names come from the run values (a renamed functionsCA is still found)', () => {
  const r: DocsRunResult = {
    ...stoppedAtInstall,
    values: { flow: { functionsCA: 'my-ca' } },
    failedSteps: [
      {
        id: 'install-direktiv',
        title: 'Install',
        error: 'timeout',
        events: [
          {
            involvedObject: { kind: 'Pod', namespace: 'default', name: 'direktiv-1' },
            reason: 'FailedMount',
            message: 'MountVolume.SetUp failed for volume "ca" : secret "my-ca" not found',
          },
        ],
      },
    ],
  };
  assert.is(byId(docsCheck(r), 3).status, 'broke');
});

test('verdicts from the run: warn is a pass with warnings, a missing path was not run', () => {
  const r = docsPathResults([
    {
      path: 'engine->knative',
      status: 'warn',
      reasons: [],
      warnings: ['port 80 of the internal Envoy still serves plaintext'],
    },
    {
      path: 'engine->pod',
      status: 'fail',
      reasons: ['x509: certificate is valid for direktiv-flow-hl.default'],
      warnings: [],
    },
    { path: 'client->ingress', status: 'pass' },
  ]);
  assert.is(r.length, PATH_IDS.length);
  assert.equal(
    r.find((x) => x.path === 'engine->knative'),
    {
      path: 'engine->knative',
      outcome: 'pass',
      warnings: ['port 80 of the internal Envoy still serves plaintext'],
    },
  );
  assert.is(r.find((x) => x.path === 'engine->pod')?.outcome, 'fail');
  assert.is(r.find((x) => x.path === 'api->engine')?.outcome, 'not-run');
  const out = docsCheck({ ...measured, verdicts: r });
  assert.is(byId(out, 5).status, 'broke');
  assert.is(byId(out, 7).status, 'broke');
});

test('Markdown lists every erratum and where each one broke', () => {
  const md = docsCheckMarkdown(docsCheck(measured));
  for (const e of ERRATA) assert.match(md, `| ${e.id} | `);
  assert.match(md, '**4. the flow.certificates.flow Secret must also exist in the service namespace**');
  assert.match(
    md,
    '- object Pod direktiv-services-direktiv/workflow-probe-00001-deployment-5c: event `FailedMount: MountVolume.SetUp failed',
  );
  assert.match(md, '- path `api->functions`, object ConfigMap direktiv/direktiv-config-grpc');
});

test.run();
