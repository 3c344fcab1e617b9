// `npm run control-plane`: the same plan as the kind run with the cluster swapped (every shared
// step kept in order, kind's own steps replaced), Direktiv's and Envoy's steps blocked with the
// proxy's exact answer, every step backed by an action of the control-plane driver, kind-only
// flags refused as bad input, and the dry run printing the plan without touching anything.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../scenarios/errors.ts';
import { parseControlPlaneArgs } from '../../scripts/lib/cli/control-plane-args.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { EXIT, exitCodeOfError } from '../../scripts/lib/cli/exit-codes.ts';
import { controlPlaneDriver } from '../../scripts/lib/cluster/control-plane.ts';
import { BLOCKED_FACTS, buildControlPlanePlan } from '../../scripts/lib/cluster/control-plane-plan.ts';
import { ControlPlaneError } from '../../scripts/lib/control-plane/index.ts';
import { buildPlan } from '../../scripts/lib/plan/build.ts';
import { renderPlan } from '../../scripts/lib/plan/render.ts';
import { actionFor } from '../../scripts/lib/run/cluster-run.ts';
import { runControlPlane } from '../../scripts/lib/run/control-plane-run.ts';

const name = (id: string) => id.slice(id.indexOf('/') + 1);
const KIND_ONLY = new Set(['preflight.docker', 'preflight.ports', 'preflight.images', 'cluster.load-images']);

test('the control-plane plan is the kind plan with the cluster swapped: shared steps kept, in order', () => {
  for (const args of ['--profile full-mtls', '--profiles all', '--profile grpc-tls --no-capture']) {
    const kind = buildPlan(parseE2eArgs(args.split(' '))).steps.map((s) => s.id);
    const cp = buildControlPlanePlan(parseControlPlaneArgs(args.split(' '))).steps.map((s) => s.id);
    const shared = kind.filter((id) => !KIND_ONLY.has(name(id)));
    assert.equal(
      cp.filter((id) => kind.includes(id)),
      shared,
      `${args}: every shared step, same order`,
    );
    for (const id of cp.filter((i) => !kind.includes(i)))
      assert.ok(
        [
          'preflight.go',
          'preflight.build',
          'knative.objects',
          'stand-ins.start',
          'stand-ins.traffic',
        ].includes(name(id)),
        `${args}: ${id} is one of the driver's own steps`,
      );
  }
});

test('every control-plane plan step has an action of the control-plane driver or the shared step code', () => {
  const driver = controlPlaneDriver({ stateDir: '/nonexistent/state' });
  for (const args of ['--profile plain', '--profiles all', '--features services --no-capture --strict']) {
    for (const step of buildControlPlanePlan(parseControlPlaneArgs(args.split(' '))).steps)
      assert.ok(actionFor(step, driver), `${args}: ${step.id}`);
  }
});

test("Direktiv's and Envoy's steps are blocked with the proxy's answer; nothing else is", () => {
  const plan = buildControlPlanePlan(parseControlPlaneArgs(['--profiles', 'plain,full-mtls']));
  const blocked = plan.steps.filter((s) => s.blockedBy?.length).map((s) => name(s.id));
  assert.equal([...new Set(blocked)].sort(), [
    'direktiv.install',
    'direktiv.reachable',
    'direktiv.ready',
    'direktiv.restart',
    'knative.expose-envoy',
    'knative.install',
    'knative.ready',
    'traffic.drive',
  ]);
  for (const s of plan.steps.filter((x) => !x.blockedBy))
    assert.not.match(s.id, /direktiv\.|traffic\.drive/, `${s.id} would need Direktiv`);
  assert.match(plan.blocked?.direktiv ?? '', '403 Forbidden');
  assert.match(plan.blocked?.direktiv ?? '', 'github.com/vorteil/direktiv@v0.4.1');
  const text = renderPlan(plan);
  assert.match(text, BLOCKED_FACTS.direktiv);
  assert.match(text, BLOCKED_FACTS.envoy);
  assert.match(text, /full-mtls\/stand-ins\.start: .*certificates cert-manager issued/);
  assert.match(text, /kubeconfig\/admin\.kubeconfig/);
  assert.not.match(text, /kind create cluster|docker pull|kind load/);
});

test('kind-only flags and --down with a profile are bad input (exit 2, one line)', () => {
  for (const argv of [
    ['--profile', 'plain', '--cluster-name', 'x'],
    ['--profile', 'plain', '--http-port', '1'],
    ['--profile', 'plain', '--chart', '.'],
    ['--down', '--profile', 'plain'],
    ['--profile', 'nope'],
    [],
  ]) {
    assert.throws(
      () => parseControlPlaneArgs(argv),
      (e: unknown) => e instanceof UsageError,
      argv.join(' '),
    );
  }
  const o = parseControlPlaneArgs(['--down', '--state-dir', '/tmp/x']);
  assert.ok(o.down);
  assert.is(o.stateDir, '/tmp/x');
});

test('--dry-run prints the plan, exits 0 and starts nothing', async () => {
  let printed = '';
  const code = await runControlPlane(
    parseControlPlaneArgs([
      '--profile',
      'full-mtls',
      '--mode',
      'as-documented',
      '--dry-run',
      '--state-dir',
      '/nonexistent/cp',
    ]),
    {
      out: (s) => {
        printed += s;
      },
    },
  );
  assert.is(code, 0);
  assert.match(printed, 'Plan (nothing has been run)');
  assert.match(printed, 'full-mtls (as-documented)');
  assert.match(printed, '/nonexistent/cp/kubeconfig/admin.kubeconfig');
});

test('the control plane not coming up (a build failed, a port taken, a kept one running) is exit 3, not 1', () => {
  assert.is(
    exitCodeOfError(
      new ControlPlaneError('a kept control plane is still running', 'npm run control-plane -- --down'),
    ),
    EXIT.COULD_NOT_RUN,
  );
});

test.run();
