import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testHelmPin } from '../../kind/versions.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

const run = promisify(execFile);

test('testHelm: concurrent calls share one promise and one path', async () => {
  const [a, b, c] = await Promise.all([testHelm(), testHelm(), testHelm()]);
  assert.is(a, b);
  assert.is(b, c);
});

test('testHelm: the returned helm really runs `helm version` and is the pinned version', async () => {
  const bin = await testHelm();
  const { stdout } = await run(bin, ['version', '--short']);
  assert.match(stdout, new RegExp(`^${testHelmPin.helmVersion.replace(/\./g, '\\.')}\\+g`));
});

test('testHelm: cached second call is fast', async () => {
  await testHelm();
  const t = Date.now();
  await testHelm();
  assert.ok(Date.now() - t < 50, 'memoized call should not re-verify');
});

test.run();
