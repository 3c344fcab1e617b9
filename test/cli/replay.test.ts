// `npm run e2e -- --replay <bundle> --dry-run`: a failed run's bundle plans the same run again.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeBundle } from '../../scripts/lib/bundle/index.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { buildPlan } from '../../scripts/lib/plan/build.ts';
import { runE2e } from '../../scripts/lib/run/e2e.ts';

test('a bundle replays as the same plan', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'replay-')), 'run');
  const original = parseE2eArgs([
    '--features',
    'grpc-tls,grpc-mtls,services',
    '--namespace',
    'dkv',
    '--strict',
    '--allow-legacy-tls',
    '--output',
    out,
  ]);
  const plan = buildPlan(original);
  const { dir } = await writeBundle({
    options: original,
    output: out,
    imageDigests: {},
    plan,
    failure: { step: 'x', message: 'y' },
  });
  let printed = '';
  const write = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => {
    printed += String(c);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let code: number;
  try {
    code = await runE2e({ ...parseE2eArgs(['--replay', dir]), dryRun: true });
  } finally {
    process.stdout.write = write;
    process.stderr.write = err;
  }
  assert.is(code, 0);
  const stepLines = (text: string) => text.split('\n').filter((l) => /^\s*\d+\. \[/.test(l));
  const replayed = stepLines(printed);
  assert.ok(replayed.length > 20);
  // Same steps in the same order (the scenario ids and namespaces included).
  assert.equal(
    replayed.map((l) => l.replace(/^\s*\d+\. /, '').split(': ')[0]),
    plan.steps.map((s) => `[${s.phase}] ${s.id}`),
  );
  assert.match(printed, 'scenarios: custom:grpc-tls+grpc-mtls+services (corrected, strict)');
  assert.match(
    printed,
    'upgrade --install direktiv .cache/direktiv/v0.4.1/kubernetes/charts/direktiv -n dkv',
  );
});

test.run();
