// The exit-code contract (scripts/lib/cli/exit-codes.ts): which error class and which verdicts
// mean which code, the one-line form of bad input, the run's code from its steps and verdicts,
// and the README's table in step with the module.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BadInputError,
  CouldNotRunError,
  HintedError,
  InconclusiveError,
  UsageError,
} from '../../scenarios/errors.ts';
import { buildScenario, PATH_IDS } from '../../scenarios/index.ts';
import { TcpdumpError } from '../../scripts/lib/capture/tcpdump.ts';
import { FetchError } from '../../scripts/lib/chart-check/fetch.ts';
import {
  EXIT,
  EXIT_MEANINGS,
  exitCodeFor,
  exitCodeForStatuses,
  exitCodeOfError,
  formatError,
} from '../../scripts/lib/cli/exit-codes.ts';
import { runCommand } from '../../scripts/lib/cli/main.ts';
import { ControlPlaneError } from '../../scripts/lib/control-plane/types.ts';
import { PreflightError, PreflightErrors } from '../../scripts/lib/preflight/errors.ts';
import type { ActivePathEvidence } from '../../scripts/lib/probe/types.ts';
import { profileResult } from '../../scripts/lib/report/result.ts';
import { buildReport } from '../../scripts/lib/report/types.ts';
import { runExitCode } from '../../scripts/lib/run/cluster-run.ts';
import type { StepRecord } from '../../scripts/lib/run/types.ts';
import { ToolError } from '../../scripts/lib/tools/fetch.ts';
import type { PathEvidence } from '../../scripts/lib/verdict/verdict.ts';

test('each error class means its code; an unclassified error is a failure, never "could not run"', () => {
  const cases: [unknown, number][] = [
    [new UsageError('--bogus', 'see --help'), 2],
    [new BadInputError('kind/images.yaml', 'images[3].ref', 'not a string', 'give an image reference'), 2],
    [new CouldNotRunError('no docker', 'install it'), 3],
    [new PreflightError('ports', 'host port 18443 is already in use.', 'stop it'), 3],
    [new PreflightErrors([new PreflightError('tools', 'no kind', 'npm run tools -- fetch kind')]), 3],
    [new ToolError('could not download helm', 'check the network'), 3],
    [new TcpdumpError('missing', 'tcpdump not found', 'apt-get install tcpdump'), 3],
    [new FetchError('git is not installed', 'install git'), 3],
    [new ControlPlaneError('kube-apiserver did not become ready', 'see its log'), 3],
    [new InconclusiveError('the server refuses the real client too', 'check the credentials'), 4],
    [new HintedError('helm install failed', ''), 1],
    [new Error('boom'), 1],
    ['a string', 1],
  ];
  for (const [e, code] of cases) assert.is(exitCodeOfError(e), code, String(e));
});

test('verdicts: any fail is 1, else any inconclusive is 4, else 0; no verdict at all is 1', () => {
  assert.is(exitCodeForStatuses(['pass', 'warn', 'pass']), EXIT.OK);
  assert.is(exitCodeForStatuses(['pass', 'inconclusive', 'warn']), EXIT.INCONCLUSIVE);
  assert.is(exitCodeForStatuses(['inconclusive', 'fail', 'pass']), EXIT.FAILED);
  assert.is(exitCodeForStatuses([]), EXIT.FAILED);
  const report = (...s: string[][]) => ({
    results: s.map((v) => ({ verdicts: v.map((status) => ({ status })) })),
  });
  assert.is(exitCodeFor(report(['pass'], ['warn'])), 0);
  assert.is(exitCodeFor(report(['pass'], ['inconclusive'])), 4);
  assert.is(exitCodeFor(report(['inconclusive'], ['fail'])), 1);
  assert.is(exitCodeFor(report()), 1);
});

test('bad input prints ONE line naming the file and the field, and what to do; no stack trace', () => {
  const e = new BadInputError(
    'values.yaml',
    'ingress.certificate',
    'expected a string, got a list',
    'give a Secret name',
  );
  assert.is(
    formatError(e),
    'error: values.yaml: ingress.certificate: expected a string, got a list — give a Secret name\n',
  );
  const multi = formatError(new UsageError('bad\nvalue', 'one\n  line'));
  assert.is(multi.split('\n').length, 2, multi);
  assert.match(
    formatError(new CouldNotRunError('Docker is not installed', 'Install Docker')),
    'error: Docker is not installed\n  Install Docker\n',
  );
});

test('runCommand: a thrown error becomes its code and its message, a returned code is kept', async () => {
  let err = '';
  const write = (s: string) => {
    err += s;
  };
  assert.is(await runCommand(() => 4, write), 4);
  assert.is(
    await runCommand(async () => {
      throw new CouldNotRunError('tcpdump is not permitted to capture', 'run as root');
    }, write),
    3,
  );
  assert.match(err, 'error: tcpdump is not permitted to capture\n  run as root\n');
  assert.not.match(err, /\bat .*\.ts:\d+/);
});

const rec = (id: string, status: StepRecord['status'], exitCode?: number): StepRecord => ({
  id,
  title: id,
  status,
  startedAt: '',
  durationMs: 0,
  ...(exitCode === undefined ? {} : { exitCode }),
});
const reportOf = (...statuses: string[]) => ({
  results: [{ verdicts: statuses.map((status) => ({ status })) }],
});

test('e2e: the run code from its steps and verdicts', () => {
  const none: string[] = [];
  // Every verdict holds.
  assert.is(runExitCode({ records: [rec('a', 'ok')], cleanupErrors: none }, reportOf('pass', 'warn')), 0);
  // A verdict failed: the report step fails with a plain error (1).
  assert.is(
    runExitCode(
      { records: [rec('p/report.write', 'failed', 1)], cleanupErrors: none },
      reportOf('pass', 'fail'),
    ),
    1,
  );
  // Preflight could not run: 3, although the paths without evidence fail.
  assert.is(
    runExitCode(
      {
        records: [rec('preflight.tools', 'failed', 3), rec('report.write', 'failed', 1)],
        cleanupErrors: none,
      },
      reportOf('fail', 'fail'),
    ),
    3,
  );
  // Inconclusive verdicts only: 4.
  assert.is(
    runExitCode({ records: [rec('a', 'ok')], cleanupErrors: none }, reportOf('pass', 'inconclusive')),
    4,
  );
  // A failed teardown fails a green run.
  assert.is(
    runExitCode(
      { records: [rec('a', 'ok'), rec('cleanup', 'failed', 1)], cleanupErrors: ['x'] },
      reportOf('pass'),
    ),
    1,
  );
});

test('lab and cluster run: the judged verdicts decide 0, 1 or 4 (the judging code both share)', () => {
  const s = buildScenario({ profile: 'plain' });
  const active = (checks: ActivePathEvidence['checks']): ActivePathEvidence => ({
    kind: 'active',
    target: { protocol: 'grpc', address: '127.0.0.1', port: 6666, serverName: 'direktiv-ingress-hl.default' },
    expected: { state: 'plain' },
    facts: { plaintext: [], handshake: { port: 6666, displayPort: 6666, ok: true }, legacy: [] },
    checks,
    observed: 'plain',
    durationMs: 1,
  });
  const judged = (api: ActivePathEvidence['checks']) => {
    const evidence: Partial<Record<(typeof PATH_IDS)[number], PathEvidence>> = {};
    for (const id of PATH_IDS)
      evidence[id] = { active: active([{ name: 'plaintext-served', ok: true, detail: '200' }]) };
    evidence['api->engine'] = { active: active(api) };
    return exitCodeFor(buildReport([profileResult(s, evidence, { source: 'lab', durationMs: 1 })]));
  };
  const undecided = {
    name: 'x-refused',
    ok: false,
    status: 'inconclusive' as const,
    detail: 'both refused',
    reason: 'the server refuses the real client too',
  };
  assert.is(judged([{ name: 'plaintext-served', ok: true, detail: '200' }]), 0);
  assert.is(judged([undecided]), 4);
  assert.is(
    judged([
      undecided,
      { name: 'plaintext-served', ok: false, detail: 'refused', reason: 'plaintext refused' },
    ]),
    1,
  );
});

test('README has one exit-code table, row for row the module', () => {
  const readme = readFileSync('README.md', 'utf8');
  const tables = readme.match(/^\| code \| meaning +\|$/gm) ?? [];
  assert.is(tables.length, 1, 'exactly one table of the codes');
  const table = readme.slice(readme.indexOf('| code | meaning')).split('\n\n')[0]!;
  const rows = [...table.matchAll(/^\| (\d) +\| (.+?) +\|$/gm)].map((m) => ({
    code: Number(m[1]),
    meaning: m[2],
  }));
  assert.equal(
    rows,
    EXIT_MEANINGS.map((m) => ({ code: m.code, meaning: m.meaning })),
  );
});

test.run();
