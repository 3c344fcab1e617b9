import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../scenarios/errors.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { buildPlan } from '../../scripts/lib/plan/build.ts';
import { renderPlan } from '../../scripts/lib/plan/render.ts';

const plan = (args: string) => buildPlan(parseE2eArgs(args.split(' ')));

test('the plan follows the order a real run needs (issue: cluster ... teardown)', () => {
  const p = plan('--profile full-mtls');
  const phases = [...new Set(p.steps.map((s) => s.phase))];
  assert.equal(phases, [
    'preflight',
    'cluster',
    'cert-manager',
    'knative',
    'namespaces',
    'profile',
    'direktiv',
    'capture',
    'traffic',
    'probe',
    'config',
    'report',
    'teardown',
  ]);
  const ids = p.steps.map((s) => s.id);
  assert.equal(ids, [
    'preflight.docker',
    'preflight.ports',
    'preflight.tools',
    'preflight.charts',
    'preflight.images',
    'cluster.create',
    'cluster.load-images',
    'cert-manager.install',
    'cert-manager.ready',
    'knative.install',
    'knative.expose-envoy',
    'knative.ready',
    'namespaces.create',
    'full-mtls/profile.apply',
    'full-mtls/profile.knative-settings',
    'full-mtls/profile.certificates-ready',
    'full-mtls/direktiv.install',
    'full-mtls/direktiv.ready',
    'full-mtls/direktiv.reachable',
    'full-mtls/capture.start',
    'full-mtls/traffic.drive',
    'full-mtls/capture.stop',
    'full-mtls/probe.active',
    'full-mtls/config.evidence',
    'report.write',
    'teardown.cluster',
  ]);
});

test('every gate has a deadline and says what it waits for', () => {
  for (const s of plan('--profile full-mtls').steps.filter(
    (s) => s.id.endsWith('ready') || s.id.includes('reachable'),
  )) {
    assert.ok(s.timeoutSec && s.timeoutSec > 0, `${s.id} has a deadline`);
    assert.ok(s.waitsFor, `${s.id} says what it waits for`);
  }
});

test('commands use the harness kubeconfig, never the default context', () => {
  for (const s of plan('--profile grpc-tls').steps) {
    for (const c of s.commands) {
      if (/^(kubectl|helm) /.test(c)) assert.match(c, '--kubeconfig .e2e/direktiv-tls/kubeconfig', c);
    }
  }
});

test('pinned sources appear: node image digest, cert-manager, Direktiv ref, chart paths', () => {
  const text = renderPlan(plan('--profile plain'));
  assert.match(text, 'cert-manager/releases/download/v1.13.6/cert-manager.yaml');
  assert.match(text, 'git clone --depth 1 --branch v0.4.1 https://github.com/direktiv/direktiv.git');
  assert.match(text, 'kubernetes/charts/knative');
  assert.match(text, 'kubernetes/charts/direktiv');
  assert.match(text, 'v1.24.17');
});

test('--chart and --direktiv-ref change where Direktiv comes from', () => {
  const local = renderPlan(plan('--profile plain --chart /tmp/my-chart'));
  assert.match(local, 'upgrade --install direktiv /tmp/my-chart -n default');
  const ref = renderPlan(plan('--profile plain --direktiv-ref my-branch'));
  assert.match(ref, '--branch my-branch');
  assert.match(ref, '.cache/direktiv/my-branch/kubernetes/charts/direktiv');
});

test('full-mtls patches config-contour; plain resets it (profiles switch in place)', () => {
  const p = plan('--profiles full-mtls,plain --strict');
  const settings = p.steps.filter((s) => s.id.endsWith('profile.knative-settings'));
  assert.is(settings.length, 2);
  assert.match(
    settings[0]!.commands.join('\n'),
    '"default-tls-secret":"contour-internal/direktiv-cert-knative"',
  );
  assert.match(settings[0]!.commands.join('\n'), '"httpProtocol":"Redirected"');
  assert.match(settings[1]!.commands.join('\n'), '"default-tls-secret":null');
  assert.match(settings[1]!.commands.join('\n'), '"httpProtocol":"Enabled"');
  const ids = p.steps.map((s) => s.id);
  assert.ok(ids.includes('plain/profile.switch') && ids.includes('plain/direktiv.restart'));
  assert.not.ok(ids.includes('full-mtls/profile.switch'));
});

test('--no-capture drops the capture steps; --keep is stated on teardown', () => {
  const p = plan('--profile plain --no-capture --keep');
  assert.not.ok(p.steps.some((s) => s.phase === 'capture'));
  assert.match(p.steps.at(-1)!.title, 'skipped: --keep');
});

test('the namespaces step creates the service namespace and a non-default release namespace', () => {
  const p = plan('--profile grpc-tls --namespace dte --service-namespace dte-fn');
  const ns = p.steps.find((s) => s.id === 'namespaces.create')!;
  assert.match(ns.commands.join('\n'), 'create namespace dte ');
  assert.match(ns.commands.join('\n'), 'create namespace dte-fn ');
});

function usage(args: string): UsageError {
  try {
    parseE2eArgs(args.split(' '));
  } catch (e) {
    assert.instance(e, UsageError);
    return e as UsageError;
  }
  throw new Error(`expected a UsageError for: ${args}`);
}

test('bad e2e options are refused with the reason', () => {
  assert.match(usage('--profile nope').hint, 'full-mtls');
  assert.match(usage('--profile plain --profiles all').message, 'conflict');
  assert.match(usage('--profile plain --http-port 99999').message, '--http-port must be a port number');
  assert.match(usage('--profile plain --http-port 18443').message, 'same port');
  assert.match(usage('--profile plain --output --dry-run').message, 'missing value for --output');
  assert.match(usage('--profile plain --bogus').message, "Unknown option '--bogus'");
  assert.match(usage('--dry-run').message, 'missing value');
  assert.match(usage('--profile plain --cluster-name Bad_Name').message, 'malformed --cluster-name');
  assert.match(usage('--profile plain --chart x --direktiv-ref v0.4.0').message, 'conflict');
  assert.match(usage('--profile plain --keep --keep-on-failure').message, 'conflict');
});

test('--profiles all with --strict applies strict only where the services feature is', () => {
  const o = parseE2eArgs(['--profiles', 'all', '--strict']);
  assert.equal(
    o.scenarios.map((s) => `${s.name}:${s.strict}`),
    [
      'plain:false',
      'ingress-tls:false',
      'upstream-tls:false',
      'grpc-tls:false',
      'grpc-mtls:false',
      'full-mtls:true',
    ],
  );
});

test.run();
