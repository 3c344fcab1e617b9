// npm run lab: exit codes, report files, bad input.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labCli } from '../../scripts/lib/lab/cli.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await labCli(
    args,
    { stdout: (s) => (out += s), stderr: (s) => (err += s) },
    { helm: testHelm },
  );
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'lab-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a passing profile exits 0, prints the table and writes every report file', async () => {
  const files = { json: join(dir, 'r.json'), junit: join(dir, 'r.xml'), markdown: join(dir, 'r.md') };
  const r = await run([
    '--profile',
    'ingress-tls',
    '--json',
    files.json,
    '--junit',
    files.junit,
    '--markdown',
    files.markdown,
  ]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /client->ingress +✓ https/);
  assert.match(r.out, /RESULT: PASS/);
  for (const f of Object.values(files)) assert.ok(existsSync(f), f);
  assert.is(JSON.parse(readFileSync(files.json, 'utf8')).results[0].scenario.name, 'ingress-tls');
  assert.match(readFileSync(files.junit, 'utf8'), /<testcase name="ingress-tls\/client-&gt;ingress"/);
});

test('a planted flaw exits 1 and names it', async () => {
  const r = await run(['--profile', 'grpc-tls', '--mutate', 'plaintext-server@engine->functions']);
  assert.is(r.code, 1);
  assert.match(r.out, /✗ grpc-tls\/engine->functions \[active\]: plaintext gRPC accepted on 5555/);
});

test('bad input exits 2 with what was wrong and what to do', async () => {
  const cases: [string[], RegExp][] = [
    [['--profile', 'nope'], /unknown profile 'nope'/],
    [['--profile', 'plain', '--strict'], /--strict needs the services feature/],
    [['--profile', 'full-mtls', '--mutate', 'bogus'], /unknown mutation 'bogus'/],
    [['--profile', 'plain,full-mtls', '--mutate', 'expired'], /--mutate plants a flaw in one profile/],
    [
      ['--profile', 'grpc-mtls', '--mutate', 'client-cert-optional@ingress->api'],
      /does not apply to ingress->api/,
    ],
    [['--profile', 'plain', '--json', join(dir, 'missing', 'r.json')], /--json: folder .* does not exist/],
    [['--profile', 'plain', '--json', dir], /--json: .* is a folder/],
    [['--profile', 'plain', '--features', 'ingress'], /--profile and --features conflict/],
    [['--profile', 'plain', '--timeout', '0'], /--timeout must be milliseconds/],
    [['--profile'], /missing value for --profile/],
    [['--bogus'], /Unknown option '--bogus'/],
    [[], /missing value: --profile or --features/],
  ];
  for (const [args, msg] of cases) {
    const r = await run(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, msg);
    assert.is(r.out, '', 'nothing on stdout: no lab was run');
  }
});

test('no helm to render the profile chart: exit 3 before any lab runs, saying how to get one', async () => {
  let out = '';
  let err = '';
  const code = await labCli(
    ['--profile', 'grpc-tls'],
    { stdout: (s) => (out += s), stderr: (s) => (err += s) },
    { helm: '/nonexistent/helm' },
  );
  assert.is(code, 3);
  assert.match(err, /cannot render it: helm not found at \/nonexistent\/helm/);
  assert.match(err, /npm run tools -- fetch helm/);
  assert.is(out, '');
});

test('--help exits 0 and lists every flag and flaw', async () => {
  const r = await run(['--help']);
  assert.is(r.code, 0);
  for (const flag of [
    '--profile',
    '--features',
    '--mode',
    '--namespace',
    '--strict',
    '--json',
    '--junit',
    '--markdown',
    '--mutate',
    '--capture',
    '--pcap',
  ]) {
    assert.ok(r.out.includes(flag), flag);
  }
  assert.match(r.out, /dual-port/);
});

test.run();
