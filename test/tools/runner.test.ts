import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execaRunner, firstLines, showCommand } from '../../scripts/lib/tools/runner.ts';

test('the real runner (execa) reports exit code, stdout, stderr and stdin without throwing', async () => {
  const r = await execaRunner(
    process.execPath,
    ['-e', 'process.stdin.pipe(process.stdout); process.stderr.write("warn\\n"); process.exitCode = 3'],
    {
      input: 'hello',
    },
  );
  assert.is(r.exitCode, 3);
  assert.is(r.stdout, 'hello');
  assert.is(r.stderr, 'warn\n');
});

test('the real runner marks a missing command as notFound', async () => {
  const r = await execaRunner('definitely-not-a-command-e2e', ['x']);
  assert.ok(r.notFound);
  assert.is(r.exitCode, -1);
  assert.match(r.stderr, 'command not found');
});

test('the real runner times out', async () => {
  const r = await execaRunner(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { timeoutMs: 200 });
  assert.ok(r.timedOut);
  assert.is.not(r.exitCode, 0);
});

test('helpers for messages', () => {
  assert.is(showCommand('docker', ['info', '--format', '{{json .}}']), "docker info --format '{{json .}}'");
  assert.is(firstLines('\n a \n\n b \n c \n d\n'), 'a | b | c');
});

test.run();
