import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ExecStep, execute } from '../../scripts/lib/run/executor.ts';
import { plainProgress, timingSummary } from '../../scripts/lib/run/progress.ts';

function sink() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d) => {
    text += d;
  });
  return { progress: plainProgress(s), text: () => text };
}

function step(id: string, fn: ExecStep['run'], always = false): ExecStep {
  return { id, title: `step ${id}`, run: fn, always };
}

test('steps run in order; cleanups run in reverse; the run passes', async () => {
  const log: string[] = [];
  const out = sink();
  const r = await execute(
    [
      step('a', async (c) => {
        log.push('a');
        c.onCleanup('undo a', async () => void log.push('undo a'));
      }),
      step('b', async (c) => {
        log.push('b');
        c.onCleanup('undo b', async () => void log.push('undo b'));
      }),
    ],
    { progress: out.progress },
  );
  assert.ok(r.ok);
  assert.equal(log, ['a', 'b', 'undo b', 'undo a']);
  assert.match(out.text(), /start a: step a/);
  assert.match(out.text(), /done {2}b \(\d+ms\)/);
});

test('a failure skips the rest, collects diagnostics BEFORE cleanup, runs always-steps', async () => {
  const log: string[] = [];
  const out = sink();
  const r = await execute(
    [
      step('a', async (c) => c.onCleanup('delete cluster', async () => void log.push('cleanup'))),
      step('b', async () => {
        throw new Error('Certificate default/direktiv-cert not Ready: IssuerNotReady');
      }),
      step('c', async () => void log.push('c ran')),
      step('report', async () => void log.push('report'), true),
    ],
    { progress: out.progress, diagnostics: async (f) => void log.push(`diag ${f.id}`) },
  );
  assert.not.ok(r.ok);
  assert.equal(log, ['report', 'diag b', 'cleanup']);
  assert.equal(
    r.records.map((x) => `${x.id}:${x.status}`),
    ['a:ok', 'b:failed', 'c:skipped', 'report:ok', 'cleanup:ok'],
  );
  assert.match(out.text(), /FAIL {2}b .*IssuerNotReady/);
});

test('keep-on-failure keeps what was created and says so', async () => {
  const log: string[] = [];
  const out = sink();
  const r = await execute(
    [
      step('a', async (c) => c.onCleanup('delete cluster dte', async () => void log.push('cleanup'))),
      step('b', async () => {
        throw new Error('boom');
      }),
    ],
    { progress: out.progress, keepOnFailure: true },
  );
  assert.ok(r.kept);
  assert.equal(log, []);
  assert.match(out.text(), /kept \(not cleaned up\): delete cluster dte/);
});

test('keep-on-failure still cleans up after a passing run', async () => {
  let cleaned = false;
  const r = await execute(
    [
      step('a', async (c) =>
        c.onCleanup('x', async () => {
          cleaned = true;
        }),
      ),
    ],
    {
      progress: sink().progress,
      keepOnFailure: true,
    },
  );
  assert.ok(r.ok && cleaned && !r.kept);
});

test('a teardown error fails an otherwise green run', async () => {
  const r = await execute(
    [
      step('a', async (c) =>
        c.onCleanup('delete cluster', async () => {
          throw new Error('kind delete cluster: exit 1');
        }),
      ),
    ],
    { progress: sink().progress },
  );
  assert.not.ok(r.ok);
  assert.equal(r.cleanupErrors, ['delete cluster: kind delete cluster: exit 1']);
});

test('an abort (Ctrl-C) stops the running step and still cleans up', async () => {
  const ac = new AbortController();
  const log: string[] = [];
  const p = execute(
    [
      step('create', async (c) => c.onCleanup('delete cluster', async () => void log.push('cleanup'))),
      step(
        'wait',
        (c) => new Promise((_, rej) => c.signal.addEventListener('abort', () => rej(new Error('aborted')))),
      ),
      step('never', async () => void log.push('never')),
    ],
    { progress: sink().progress, signal: ac.signal },
  );
  setTimeout(() => ac.abort(new Error('SIGINT received')), 20);
  const r = await p;
  assert.ok(r.interrupted);
  assert.not.ok(r.ok);
  assert.equal(log, ['cleanup']);
  assert.match(r.records[1]!.error!, /interrupted: SIGINT received/);
});

test('after Ctrl-C the always-steps run to their end; one failing neither crashes the run nor skips the cleanup', async () => {
  const ac = new AbortController();
  const log: string[] = [];
  const p = execute(
    [
      step('start', async (c) => c.onCleanup('stop the control plane', async () => void log.push('cleanup'))),
      step(
        'wait',
        (c) => new Promise((_, rej) => c.signal.addEventListener('abort', () => rej(new Error('aborted')))),
      ),
      step(
        'report',
        async () => {
          await new Promise((r) => setTimeout(r, 30));
          log.push('report written');
          throw new Error('10 path verdict(s) failed');
        },
        true,
      ),
    ],
    { progress: sink().progress, signal: ac.signal },
  );
  setTimeout(() => ac.abort(new Error('SIGINT received')), 20);
  const r = await p;
  assert.equal(log, ['report written', 'cleanup']);
  assert.is(r.records[2]!.status, 'failed');
  assert.is(r.records[2]!.error, '10 path verdict(s) failed');
  assert.ok(r.interrupted);
});

test('timing summary lists the longest steps first with shares', () => {
  const s = timingSummary([
    { id: 'cluster', title: '', status: 'ok', startedAt: '', durationMs: 90_000 },
    { id: 'probe', title: '', status: 'ok', startedAt: '', durationMs: 10_000 },
  ]);
  assert.match(s, /total 1m40s/);
  assert.ok(s.indexOf('cluster') < s.indexOf('probe'));
  assert.match(s, /90%\s+cluster/);
});

test.run();
