// The real run's actions that talk to the Kubernetes API, against the real kube-apiserver of the
// shared control plane: Knative settings set and reset when profiles switch, the rollout restart,
// the live configuration evidence (objects rendered by a Direktiv-like chart, good and broken).
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadImageOverrides } from '../../kind/images.ts';
import { direktivValues } from '../../scenarios/direktiv-values.ts';
import { buildScenario, type Scenario } from '../../scenarios/index.ts';
import { helmTemplate } from '../../scripts/lib/chart/helm.ts';
import { parseManifests } from '../../scripts/lib/chart/render.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { kindDriver } from '../../scripts/lib/cluster/kind.ts';
import { KubeClient } from '../../scripts/lib/k8s/client.ts';
import type { KubeObject } from '../../scripts/lib/k8s/types.ts';
import type { PlanStep } from '../../scripts/lib/plan/types.ts';
import { clusterPaths } from '../../scripts/lib/preflight/index.ts';
import type { RunContext } from '../../scripts/lib/run/context.ts';
import { evidenceActions, evidenceOf } from '../../scripts/lib/run/steps-evidence.ts';
import { installActions } from '../../scripts/lib/run/steps-install.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';
import { freshNamespace, kubeconfigVariant, renameContext, sharedCluster } from './helpers/shared-cluster.ts';

let client: KubeClient;

test.before(async () => {
  const shared = await sharedCluster();
  client = KubeClient.fromKubeconfig(
    await kubeconfigVariant(shared, 'steps', renameContext('kind-direktiv-tls')),
    { expectContext: 'kind-direktiv-tls' },
  );
  for (const ns of ['knative-serving-knative', 'direktiv-services-direktiv'])
    await freshNamespace(client, ns);
  // What Direktiv's Knative chart v0.4.1 ships (config-network httpProtocol Enabled, config-contour
  // without the key), applied by another field manager as helm would.
  const asHelm = { fieldManager: 'helm' };
  await client.apply(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config-network', namespace: 'knative-serving-knative' },
      data: { httpProtocol: 'Enabled', 'ingress.class': 'contour.ingress.networking.knative.dev' },
    },
    asHelm,
  );
  await client.apply(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config-contour', namespace: 'knative-serving-knative' },
      data: { _example: '...' },
    },
    asHelm,
  );
});

function context(...scenarios: Scenario[]): RunContext {
  return {
    opts: parseE2eArgs(['--profile', 'plain']),
    driver: kindDriver,
    out: mkdtempSync(join(tmpdir(), 'steps-k8s-')),
    runner: async () => ({ exitCode: 1, stdout: '', stderr: 'no commands in this test' }),
    log: () => {},
    overrides: loadImageOverrides(),
    paths: clusterPaths('direktiv-tls'),
    client,
    scenarios: new Map(scenarios.map((s) => [s.name, { scenario: s, evidence: {}, notes: [] }])),
    imageDigests: {},
  };
}
const stepCtx = () => ({ signal: new AbortController().signal, onCleanup: () => {}, note: () => {} });
const step = (s: Scenario, id: string): PlanStep => ({
  id: `${s.name}/${id}`,
  phase: 'profile',
  title: id,
  commands: [],
  scenario: s.name,
});
const cmData = async (name: string) =>
  (await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'knative-serving-knative', name }))
    .data as Record<string, string>;

test('Knative settings: full-mtls --strict sets them; switching to plain resets them', async () => {
  const full = buildScenario({ profile: 'full-mtls', strict: true });
  const plain = buildScenario({ profile: 'plain' });
  const ctx = context(full, plain);
  await installActions['profile.knative-settings']!(ctx, step(full, 'profile.knative-settings'), stepCtx());
  assert.is((await cmData('config-contour'))['default-tls-secret'], 'contour-internal/direktiv-cert-knative');
  assert.is((await cmData('config-network')).httpProtocol, 'Redirected');
  assert.is(
    (await cmData('config-network'))['ingress.class'],
    'contour.ingress.networking.knative.dev',
    'other keys kept',
  );
  await installActions['profile.knative-settings']!(ctx, step(plain, 'profile.knative-settings'), stepCtx());
  assert.not.ok('default-tls-secret' in (await cmData('config-contour')), 'the key is removed');
  assert.is((await cmData('config-network')).httpProtocol, 'Enabled');
});

const GOOD = 'test/fixtures/charts/direktiv-like';

async function renderInto(chart: string, s: Scenario): Promise<void> {
  const text = await helmTemplate({
    helm: await testHelm(),
    chartDir: chart,
    releaseName: 'direktiv',
    namespace: s.namespace,
    values: direktivValues(s),
  });
  for (const o of parseManifests(text)) {
    if (['Deployment', 'Service', 'ConfigMap', 'Ingress'].includes(o.kind)) {
      await client.apply(
        { ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? s.namespace } } as KubeObject,
        { fieldManager: 'helm' },
      );
    }
  }
}

test('live configuration evidence: a chart that mounts what the profile needs gives no finding', async () => {
  const s = buildScenario({ profile: 'grpc-mtls' });
  await renderInto(GOOD, s);
  const ctx = context(s);
  await evidenceActions['config.evidence']!(ctx, step(s, 'config.evidence'), stepCtx());
  const config = evidenceOf(ctx.scenarios.get(s.name)!).config!;
  for (const p of [
    'api->engine',
    'api->functions',
    'engine->functions',
    'sidecar->engine',
    'ingress->api',
  ] as const) {
    assert.ok(config[p], `${p} has configuration evidence`);
    assert.ok(config[p]!.ok, `${p}: ${config[p]!.findings.join('; ')}`);
  }
});

test('live configuration evidence: the API not mounting the functions certificate fails api->functions only', async () => {
  const s = buildScenario({ profile: 'grpc-mtls' });
  const dir = join(mkdtempSync(join(tmpdir(), 'chart-')), 'broken');
  cpSync(GOOD, dir, { recursive: true });
  const file = join(dir, 'templates', 'api.yaml');
  const before = readFileSync(file, 'utf8');
  const after = before.replace(
    /\n\s*\{\{- include "double.secretMount" \(dict "name" "functionscerts"[^\n]*/,
    '',
  );
  assert.is.not(after, before, 'the edit applied');
  writeFileSync(file, after);
  await renderInto(dir, s);
  const ctx = context(s);
  await evidenceActions['config.evidence']!(ctx, step(s, 'config.evidence'), stepCtx());
  const config = evidenceOf(ctx.scenarios.get(s.name)!).config!;
  assert.not.ok(config['api->functions']!.ok);
  assert.match(config['api->functions']!.findings.join(), 'functionscerts');
  // Every requirement checked is kept, held or not, with the template it comes from.
  const checks = config['api->functions']!.checks ?? [];
  const broken = checks.filter((c) => !c.ok);
  assert.ok(broken.length > 0 && checks.some((c) => c.ok), 'held and failed checks are both recorded');
  assert.ok(
    broken.every((c) => /templates\/api-deployment\.yaml/.test(c.source)),
    broken.map((c) => c.source).join(),
  );
  for (const p of ['api->engine', 'engine->functions', 'sidecar->engine'] as const) {
    assert.ok(config[p]!.ok, `${p} unaffected: ${config[p]!.findings.join('; ')}`);
  }
  await renderInto(GOOD, s); // restore for later tests
});

test('rollout restart stamps every Deployment of the release namespace', async () => {
  const s = buildScenario({ profile: 'plain' });
  await renderInto(GOOD, s);
  await installActions['direktiv.restart']!(context(s), step(s, 'direktiv.restart'), stepCtx());
  const deps = await client.list('apps/v1', 'Deployment', { namespace: 'default' });
  assert.ok(deps.length >= 3);
  for (const d of deps) {
    const ann = (d.spec as { template: { metadata?: { annotations?: Record<string, string> } } }).template
      .metadata?.annotations;
    assert.ok(ann?.['kubectl.kubernetes.io/restartedAt'], `${d.metadata.name} restarted`);
  }
});

test.run();
