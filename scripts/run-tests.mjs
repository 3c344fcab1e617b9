#!/usr/bin/env node
// The test command of every tier. `npm test` (no --tier): type check, lint, then every fast uvu
// test in ONE process (tsx costs ~3 s per start). `--tier <name>` runs only test/<name>/ (the slow
// real tiers: peers, control-plane, browser), which the fast run leaves out. Ends with the line
// `N passed, N failed` that CI reads; type-check and lint count as one check each so a red stage
// can never look green.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const stages = [];
function run(name, cmd, args) {
  const started = Date.now();
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  stages.push({ name, ok: r.status === 0, secs });
  return r;
}

const bin = (n) => join('node_modules', '.bin', n);
// Slow tiers: each its own folder under test/ and its own npm script; never part of `npm test`.
const tiers = ['peers', 'control-plane', 'browser', 'registry'];
const argv = process.argv.slice(2);
const tierAt = argv.indexOf('--tier');
const tier = tierAt >= 0 ? argv[tierAt + 1] : undefined;
if (tierAt >= 0 && !tiers.includes(tier ?? '')) {
  process.stderr.write(`error: --tier must be one of ${tiers.join(', ')} (got ${tier ?? 'nothing'})\n`);
  process.exit(2);
}
const only = tierAt >= 0 ? argv.filter((_, i) => i !== tierAt && i !== tierAt + 1) : argv;
// Type check and lint run beside the tests (two cores: tsc is ~8 s of CPU while most tests wait
// on sockets and timers); their output is printed, whole, once they end.
function runBeside(name, cmd, args) {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (status) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      done({ name, ok: status === 0, secs, out: `\n== ${name}: ${cmd} ${args.join(' ')}\n${out}` });
    });
  });
}
const beside =
  only.length === 0 && !tier
    ? [
        runBeside('typecheck', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']),
        runBeside('lint', bin('biome'), ['check', '.']),
      ]
    : [];

// uvu's own CLI takes one dir + pattern; list test files ourselves so nested folders work.
function testFiles(dir, top = true) {
  const out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e !== 'fixtures' && e !== 'helpers' && !(top && tiers.includes(e)))
        out.push(...testFiles(p, false));
    } else if (/\.test\.ts$/.test(e)) out.push(p);
  }
  return out.sort();
}
const tierDir = tier ? join('test', tier) : 'test';
const files = only.length ? only : existsSync(tierDir) ? testFiles(tierDir, !tier) : [];
// Fetch the offline test helm once before uvu, so no test pays for it inside its timeout.
run('test-helm', process.execPath, ['--import', 'tsx', 'scripts/lib/tools/test-helm.ts', '--prefetch']);
// Stream the test output live and keep a copy to read uvu's totals from.
const r = await new Promise((done) => {
  const started = Date.now();
  process.stdout.write(`\n== uvu: ${files.length} test files\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/uvu-run.ts', ...files], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    process.stdout.write(d);
  });
  child.on('close', (status) => {
    stages.push({ name: 'uvu', ok: status === 0, secs: ((Date.now() - started) / 1000).toFixed(1) });
    done({ status, stdout });
  });
});

for (const b of await Promise.all(beside)) {
  process.stdout.write(b.out);
  stages.push({ name: b.name, ok: b.ok, secs: b.secs });
}

const m = /Total:\s+(\d+)[\s\S]*?Passed:\s+(\d+)/.exec(r.stdout ?? '');
const total = m ? Number(m[1]) : 0;
let passed = m ? Number(m[2]) : 0;
let failed = total - passed;
if (!m || r.status !== 0) failed = Math.max(failed, 1);
for (const s of stages.filter((s) => s.name !== 'uvu')) {
  if (s.ok) passed += 1;
  else failed += 1;
}
process.stdout.write(
  `\n${stages.map((s) => `${s.name} ${s.ok ? 'ok' : 'FAILED'} (${s.secs}s)`).join(', ')}\n`,
);
if (total === 0) process.stdout.write('no uvu test ran\n');
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && total > 0 ? 0 : 1);
