// `npm run control-plane` end to end, as a user runs it: the real control plane and the real
// cert-manager issue the profile's certificates through the harness's own steps; Direktiv's steps
// are blocked with the proxy's answer; the stand-ins serve every path with the issued
// certificates, and the reports say so. Each run builds nothing new (the programs are cached by
// the first one) and is started as a separate process, exit code and all.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, PATH_IDS } from '../../scenarios/index.ts';
import { EXIT } from '../../scripts/lib/cli/exit-codes.ts';
import { runLab } from '../../scripts/lib/lab/lab.ts';
import { projectRoot } from '../../scripts/lib/tools/fsutil.ts';

interface Report {
  components: { name: string; version: string; source: string }[];
  steps: { id: string; status: string; seconds: number; error?: string }[];
  certificates: { namespace: string; name: string; ready: boolean; dnsNames: string[] }[];
  blocked: { id: string; reason: string }[];
  results: {
    scenario: { name: string };
    verdicts: { path: string; status: string; reason: string; server?: string; client?: string }[];
  }[];
}

const work = mkdtempSync(join(tmpdir(), 'cp-run-'));
const stateDir = join(work, 'state');

async function controlPlane(args: string[], name: string) {
  const out = join(work, name);
  const r = await execa(
    process.execPath,
    ['--import', 'tsx', 'scripts/control-plane.ts', ...args, '--output', out, '--state-dir', stateDir],
    { cwd: projectRoot, reject: false, all: true, env: { CI: '1' }, timeout: 3_600_000 },
  );
  process.stderr.write(`  [control-plane ${args.join(' ')}] exit ${r.exitCode}\n`);
  const file = join(out, 'report.json');
  if (!existsSync(file)) assert.unreachable(`no report.json; exit ${r.exitCode}:\n${r.all}`);
  return {
    code: r.exitCode,
    all: String(r.all),
    out,
    report: JSON.parse(readFileSync(file, 'utf8')) as Report,
  };
}

const step = (r: Report, id: string) => r.steps.find((s) => s.id === id);

const down = () =>
  execa(
    process.execPath,
    ['--import', 'tsx', 'scripts/control-plane.ts', '--down', '--state-dir', stateDir],
    {
      cwd: projectRoot,
      reject: false,
      all: true,
    },
  );

// Whatever a failed assertion left kept, the next test gets a fresh control plane.
test.after.each(async () => {
  await down();
});

// The runs' output folders are this test's scratch: nothing is left in /tmp (CP_TEST_KEEP_LOGS=1 keeps them).
test.after(() => {
  if (!process.env.CP_TEST_KEEP_LOGS) rmSync(work, { recursive: true, force: true });
});

test('full-mtls --keep: real issuance, Direktiv blocked with the 403, stand-ins on every path, exit 4; --down leaves nothing', async () => {
  const { code, all, out, report } = await controlPlane(['--profile', 'full-mtls', '--keep'], 'full-mtls');
  assert.is(code, EXIT.INCONCLUSIVE, all);
  // The real programs, with versions and sources.
  const comp = new Map(report.components.map((c) => [c.name, c]));
  assert.is(comp.get('kube-apiserver')?.source, 'built from k8s.io/kubernetes@v1.24.17');
  assert.is(comp.get('cert-manager-controller')?.version, 'v1.11.5');
  assert.ok(
    report.components.some((c) => c.source.startsWith('stand-in')),
    'the stand-ins are named',
  );
  // The harness's own steps ran for real against them.
  for (const id of [
    'cluster.create',
    'cert-manager.install',
    'cert-manager.ready',
    'knative.objects',
    'full-mtls/profile.apply',
    'full-mtls/profile.knative-settings',
    'full-mtls/profile.certificates-ready',
    'full-mtls/stand-ins.start',
    'full-mtls/probe.active',
    'full-mtls/config.evidence',
  ])
    assert.is(step(report, id)?.status, 'ok', `${id}: ${step(report, id)?.error ?? ''}`);
  for (const id of ['knative.install', 'full-mtls/direktiv.install', 'full-mtls/traffic.drive']) {
    assert.is(step(report, id)?.status, 'blocked', id);
    assert.match(step(report, id)?.error ?? '', '403 Forbidden', id);
  }
  assert.ok(report.steps.every((s) => typeof s.seconds === 'number'));
  // Certificates issued by the real cert-manager, with the SANs the clients dial.
  const cert = (ns: string, name: string) =>
    report.certificates.find((c) => c.namespace === ns && c.name === name);
  assert.ok(report.certificates.length >= 6, `${report.certificates.length} certificates`);
  assert.ok(
    report.certificates.every((c) => c.ready),
    JSON.stringify(report.certificates.filter((c) => !c.ready)),
  );
  assert.ok(
    report.certificates.some((c) => c.dnsNames.includes('direktiv-flow-hl.default')),
    'the flow certificate carries the name the sidecar dials',
  );
  assert.ok(cert('cert-manager', 'direktiv-ca'), 'the profile CA');
  // Every path holds, on stand-ins, and says so.
  const verdicts = report.results[0]!.verdicts;
  assert.is(verdicts.length, PATH_IDS.length);
  for (const v of verdicts) {
    // engine->knative warns: port 80 stays open without --strict (erratum 7), as on kind.
    assert.is(v.status, v.path === 'engine->knative' ? 'warn' : 'pass', `${v.path}: ${v.reason}`);
    assert.is(v.server, 'stand-in', v.path);
    assert.is(v.client, 'stand-in', v.path);
  }
  for (const f of ['report.txt', 'junit.xml', 'summary.md'])
    assert.match(readFileSync(join(out, f), 'utf8'), 'server: stand-in, client: stand-in', f);
  assert.match(readFileSync(join(out, 'report.txt'), 'utf8'), 'RESULT: INCONCLUSIVE');
  // --keep: the control plane still answers with the printed kubeconfig.
  const kubeconfig = /kubeconfig: (\S+)/.exec(all)?.[1];
  assert.ok(kubeconfig && existsSync(kubeconfig), `kubeconfig line in:\n${all.slice(-2000)}`);
  const live = await execa(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `
    const { KubeClient } = await import('./scripts/lib/k8s/client.ts');
    const c = KubeClient.fromKubeconfig(${JSON.stringify(kubeconfig)});
    console.log((await c.list('cert-manager.io/v1', 'Certificate')).length);`,
    ],
    { cwd: projectRoot, reject: false },
  );
  assert.is(live.exitCode, 0, live.stderr);
  assert.ok(Number(live.stdout.trim()) >= 6, `Certificates on the kept control plane: ${live.stdout}`);
  const stopped = await down();
  assert.is(stopped.exitCode, 0, String(stopped.all));
  assert.match(String(stopped.all), 'stopped kube-apiserver');
  assert.match(String(stopped.all), 'nothing left behind');
});

test('as-documented fails exactly the paths the lab says the errata break, on real certificates', async () => {
  const { code, report } = await controlPlane(
    ['--profile', 'full-mtls', '--mode', 'as-documented'],
    'as-documented',
  );
  assert.is(code, EXIT.FAILED);
  const failed = report.results[0]!.verdicts.filter((v) => v.status === 'fail')
    .map((v) => v.path)
    .sort();
  // The lab issues the same chart's certificates locally: the same errata must break the same paths.
  const lab = await runLab(buildScenario({ profile: 'full-mtls', mode: 'as-documented' }));
  const labFailed = lab.verdicts
    .filter((v) => v.status === 'fail')
    .map((v) => v.path)
    .sort();
  assert.ok(failed.length > 0, 'the page verbatim breaks something');
  assert.equal(failed, labFailed);
});

test('--profiles grpc-tls,full-mtls: one control plane, switched in place, both hold on stand-ins', async () => {
  const { code, all, report } = await controlPlane(['--profiles', 'grpc-tls,full-mtls'], 'switch');
  assert.is(code, EXIT.INCONCLUSIVE, all.slice(-3000));
  assert.is(step(report, 'full-mtls/profile.switch')?.status, 'ok');
  assert.is(report.steps.filter((s) => s.id === 'cluster.create').length, 1);
  for (const r of report.results)
    for (const v of r.verdicts)
      assert.not.equal(v.status, 'fail', `${r.scenario.name}/${v.path}: ${v.reason}`);
  assert.match(all, 'stop the control plane');
});

test.run();
