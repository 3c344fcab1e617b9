// The real run's orchestration, below the cluster: what happens without Docker, what a failing
// run leaves behind (report, reproduction bundle, exit 3 when it could not run), and that every
// plan step has an action.
// The steps that need Docker and kind are exercised by the nightly kind matrix, not here.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { runCommand } from '../../scripts/lib/cli/main.ts';
import { buildPlan } from '../../scripts/lib/plan/build.ts';
import { actionFor, runCluster } from '../../scripts/lib/run/cluster-run.ts';
import { plainProgress } from '../../scripts/lib/run/progress.ts';
import { dockerInfoJson, fakeRunner } from '../preflight/helpers/fake-runner.ts';

test('every step of every plan shape has an action', () => {
  for (const args of [
    '--profile plain',
    '--profile full-mtls --strict',
    '--profiles all',
    '--features services --no-capture',
    '--profile grpc-mtls --mode as-documented --namespace dte',
  ]) {
    for (const step of buildPlan(parseE2eArgs(args.split(' '))).steps) {
      assert.ok(actionFor(step), `${args}: ${step.id} has an action`);
    }
  }
});

test('without Docker the run stops at once (exit 3), names --dry-run and the lab, and writes nothing', async () => {
  const out = mkdtempSync(join(tmpdir(), 'e2e-nodocker-'));
  rmSync(out, { recursive: true });
  const opts = { ...parseE2eArgs(['--profile', 'plain']), output: out };
  const runner = fakeRunner([
    [
      'docker info',
      {
        exitCode: 1,
        stderr:
          'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
      },
    ],
  ]);
  let wrote = false;
  let err = '';
  const code = await runCommand(
    () =>
      runCluster(opts, buildPlan(opts), {
        runner,
        writeFiles: async () => {
          wrote = true;
        },
      }),
    (s) => {
      err += s;
    },
  );
  assert.is(code, 3);
  assert.match(err, 'Docker is not reachable');
  assert.match(err, '--dry-run');
  assert.match(err, 'npm run lab');
  assert.not.ok(wrote, 'no files written');
  assert.not.ok(existsSync(out));
  assert.equal(runner.lines(), ['docker info --format {{json .}}']);
});

test('a step that cannot run leaves a report, a reproduction bundle and exit 3 (tools cannot be fetched)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'e2e-fail-'));
  const saved = { ...process.env };
  // Downloads go to a closed loopback port: the tool fetch fails fast, as offline.
  for (const t of ['KIND', 'HELM', 'KUBECTL']) process.env[`E2E_${t}_BASE_URL`] = 'http://127.0.0.1:9';
  process.env.PATH = '/nonexistent';
  const opts = { ...parseE2eArgs(['--profile', 'grpc-tls']), output: out };
  const runner = fakeRunner([['docker info', { stdout: dockerInfoJson() }]]);
  const logs = new PassThrough();
  let log = '';
  logs.on('data', (d) => {
    log += d;
  });
  let printed = '';
  try {
    const code = await runCluster(opts, buildPlan(opts), {
      runner,
      progress: plainProgress(logs),
      out: (s) => {
        printed += s;
      },
    });
    assert.is(code, 3, 'a tool that cannot be fetched: the run could not start');
  } finally {
    process.env = saved;
  }
  assert.match(log, /FAIL {2}preflight.ports/);
  assert.match(log, /skip {2}cluster.create/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.is(report.steps.find((s: { id: string }) => s.id === 'preflight.ports').status, 'failed');
  assert.ok(report.summary.fail > 0, 'paths without evidence fail');
  assert.match(readFileSync(join(out, 'junit.xml'), 'utf8'), 'grpc-tls/api-&gt;engine');
  const runJson = JSON.parse(readFileSync(join(out, 'repro', 'run.json'), 'utf8'));
  assert.equal(
    runJson.run.scenarios.map((s: { name: string }) => s.name),
    ['grpc-tls'],
  );
  assert.match(readFileSync(join(out, 'repro', 'README.md'), 'utf8'), 'npm run e2e -- ');
  assert.match(printed, /time by step/);
  assert.match(printed, /RESULT/);
  rmSync(out, { recursive: true, force: true });
});

test.run();
