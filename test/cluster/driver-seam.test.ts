// The cluster seam: step code reaches a path's server, captures and starts workloads only through
// ctx.driver. A driver here serves every path from a lab (real TLS/mTLS/gRPC servers on loopback)
// while the probe step reads what it trusts and presents from the cluster's Secrets; swapping the
// CA in one Secret makes exactly the paths that trust it fail. Blocked steps never run and never pass.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadImageOverrides } from '../../kind/images.ts';
import { buildScenario, PATH_IDS, type Scenario } from '../../scenarios/index.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { EXIT } from '../../scripts/lib/cli/exit-codes.ts';
import type { ClusterDriver } from '../../scripts/lib/cluster/driver.ts';
import { kindDriver } from '../../scripts/lib/cluster/kind.ts';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import { type Lab, startLab } from '../../scripts/lib/lab/lab.ts';
import { buildPlan } from '../../scripts/lib/plan/build.ts';
import { clusterPaths } from '../../scripts/lib/preflight/index.ts';
import { actionFor, runExitCode } from '../../scripts/lib/run/cluster-run.ts';
import { blockedReason, type RunContext } from '../../scripts/lib/run/context.ts';
import { execute } from '../../scripts/lib/run/executor.ts';
import { plainProgress } from '../../scripts/lib/run/progress.ts';
import { scenarioResult } from '../../scripts/lib/run/report-step.ts';
import { evidenceActions, evidenceOf } from '../../scripts/lib/run/steps-evidence.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';
import { CERT_MANAGER_TYPES, CORE_TYPES, FakeKube, namespace } from '../helpers/fake-kube.ts';

let fake: FakeKube;
let client: KubeClient;
let lab: Lab;
const scenario: Scenario = buildScenario({ profile: 'grpc-mtls' });

/** Every Secret the lab issued, as cert-manager would have stored it. */
function putSecrets(l: Lab, override: (key: string, data: Record<string, string>) => Record<string, string>) {
  for (const [key, c] of l.pki.all()) {
    const [ns, name] = key.split('/') as [string, string];
    const data = override(key, { ...c.secret });
    fake.put({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name, namespace: ns },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
  }
}

test.before(async () => {
  fake = await FakeKube.start({ types: [...CORE_TYPES, ...CERT_MANAGER_TYPES] });
  client = KubeClient.fromKubeconfig(await fake.writeKubeconfig('seam'), { expectContext: 'seam' });
  for (const ns of ['default', 'cert-manager', scenario.serviceNamespace]) fake.put(namespace(ns));
  lab = await startLab(scenario, { helm: testHelm });
});
test.after(async () => {
  await lab?.stop();
  await fake?.close();
});

/** A driver that serves each path from the lab and records what the steps asked of it. */
function labDriver(calls: string[]): ClusterDriver {
  return {
    ...kindDriver,
    name: 'lab-seam',
    actions: {},
    async reach(_ctx, _run, path, target) {
      calls.push(`reach ${path} (${target.kind})`);
      return { target: { ...lab.endpoints[path].target }, close: () => calls.push(`close ${path}`) };
    },
    async startWorkloads(_ctx, what) {
      calls.push(`start ${what}`);
    },
  };
}

function context(driver: ClusterDriver): RunContext {
  return {
    opts: parseE2eArgs(['--profile', 'grpc-mtls']),
    driver,
    out: mkdtempSync(join(tmpdir(), 'seam-')),
    runner: async () => ({ exitCode: 1, stdout: '', stderr: 'no commands here' }),
    log: () => {},
    overrides: loadImageOverrides(),
    paths: clusterPaths('direktiv-tls'),
    client,
    scenarios: new Map([[scenario.name, { scenario, evidence: {}, notes: [] }]]),
    imageDigests: {},
  };
}

async function probeAll(driver: ClusterDriver) {
  const ctx = context(driver);
  const step = {
    id: `${scenario.name}/probe.active`,
    phase: 'probe' as const,
    title: '',
    commands: [],
    scenario: scenario.name,
  };
  await evidenceActions['probe.active']!(ctx, step, {
    signal: new AbortController().signal,
    onCleanup: () => {},
    note: () => {},
  });
  const run = ctx.scenarios.get(scenario.name)!;
  return { run, result: scenarioResult(run, 0) };
}

test('probe.active reaches every path through the driver and trusts the Secrets the cluster holds', async () => {
  putSecrets(lab, (_k, d) => d);
  const calls: string[] = [];
  const { run, result } = await probeAll(labDriver(calls));
  for (const p of PATH_IDS) {
    assert.ok(
      calls.includes(
        `reach ${p} (${p === 'client->ingress' ? 'host' : p === 'engine->pod' ? 'init-pod' : 'service'})`,
      ),
      `${p} reached through the driver`,
    );
    assert.ok(calls.includes(`close ${p}`), `${p} released`);
  }
  const failed = result.verdicts.filter((v) => v.status === 'fail').map((v) => `${v.path}: ${v.reason}`);
  assert.equal(failed, [], run.notes.join('\n'));
  assert.is(evidenceOf(run).active?.['api->engine']?.observed, 'mtls');
});

test('a foreign CA in the profile CA Secret fails the paths that trust it, through the same seam', async () => {
  const foreignCa = lab.pki.foreignCaPem;
  putSecrets(lab, (key, d) => (key === 'cert-manager/direktiv-ca' ? { ...d, 'ca.crt': foreignCa } : d));
  const { result } = await probeAll(labDriver([]));
  const failed = result.verdicts.filter((v) => v.status === 'fail').map((v) => v.path);
  // The probes verify against direktiv-ca's ca.crt (cluster-targets.ts): every TLS path fails.
  for (const p of ['api->engine', 'api->functions', 'engine->functions', 'sidecar->engine', 'pod->engine'])
    assert.ok(failed.includes(p as never), `${p} fails on the foreign CA (failed: ${failed.join(', ')})`);
  putSecrets(lab, (_k, d) => d);
});

test('cert-manager.install takes its objects from the driver and starts what the driver runs beside the cluster', async () => {
  const calls: string[] = [];
  const driver: ClusterDriver = {
    ...labDriver(calls),
    async certManagerObjects() {
      calls.push('objects');
      return {
        objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cert-manager' } }],
        source: 'a test',
      };
    },
  };
  const notes: string[] = [];
  const step = { id: 'cert-manager.install', phase: 'cert-manager' as const, title: '', commands: [] };
  await actionFor(step, driver)!(context(driver), step, {
    signal: new AbortController().signal,
    onCleanup: () => {},
    note: (l) => notes.push(l),
  });
  assert.equal(calls, ['objects', 'start cert-manager']);
  assert.match(notes.join('\n'), '1 objects applied (server-side) from a test');
});

test('the kind driver owns kind steps; shared steps are the same code for every driver', () => {
  const plan = buildPlan(parseE2eArgs(['--profile', 'full-mtls']));
  const other: ClusterDriver = { ...kindDriver, actions: {} };
  for (const step of plan.steps) {
    const own = kindDriver.actions[step.id.slice(step.id.indexOf('/') + 1)];
    if (own) assert.is(actionFor(step, kindDriver), own, step.id);
    else assert.is(actionFor(step, other), actionFor(step, kindDriver), `${step.id} is shared`);
  }
  assert.ok(kindDriver.actions['cluster.create'] && kindDriver.actions['preflight.docker']);
});

test('a blocked step is recorded with its reason, never runs, and makes a holding run inconclusive (4)', async () => {
  const ran: string[] = [];
  const ctx = { blocked: { direktiv: '403 Forbidden from the proxy' } };
  const step = {
    id: 'x/direktiv.install',
    phase: 'direktiv' as const,
    title: 't',
    commands: [],
    blockedBy: ['direktiv'],
  };
  assert.is(blockedReason(ctx, step), 'direktiv: 403 Forbidden from the proxy');
  assert.is(blockedReason({}, step), undefined, 'nothing blocked: the step runs');
  const r = await execute(
    [
      { id: 'a', title: 'a', run: async () => void ran.push('a') },
      { id: 'b', title: 'b', blocked: () => blockedReason(ctx, step), run: async () => void ran.push('b') },
      { id: 'c', title: 'c', run: async () => void ran.push('c') },
    ],
    { progress: plainProgress(new PassThrough()) },
  );
  assert.equal(ran, ['a', 'c']);
  assert.ok(r.ok, 'a blocked step does not fail the run');
  assert.equal(
    r.records.map((x) => [x.id, x.status, x.error ?? '']),
    [
      ['a', 'ok', ''],
      ['b', 'blocked', 'direktiv: 403 Forbidden from the proxy'],
      ['c', 'ok', ''],
    ],
  );
  const pass = { results: [{ verdicts: [{ status: 'pass' }] }] };
  const fail = { results: [{ verdicts: [{ status: 'fail' }] }] };
  assert.is(runExitCode(r, pass), EXIT.INCONCLUSIVE);
  assert.is(runExitCode(r, fail), EXIT.FAILED, 'a failed verdict is a failure, blocked or not');
  assert.is(runExitCode({ ...r, records: r.records.filter((x) => x.id !== 'b') }, pass), EXIT.OK);
});

test.run();
