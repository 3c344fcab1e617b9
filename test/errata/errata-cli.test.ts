import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERRATA, UsageError } from '../../scenarios/index.ts';
import { errataMain, groupErrata } from '../../scripts/errata.ts';

function run(argv: string[]): { code: number; out: string } {
  let out = '';
  const code = errataMain(argv, (s) => {
    out += s;
  });
  return { code, out };
}

test('text: every erratum with its fix, grouped by kind in a fixed order', () => {
  const { code, out } = run([]);
  assert.is(code, 0);
  assert.match(out, `: ${ERRATA.length}\n`);
  for (const e of ERRATA) {
    assert.match(out, `${String(e.id).padStart(2)}. ${e.title}`);
    // The fix is printed (wrapped: compare the first words).
    assert.match(out, `fix:      ${e.fix.split(' ').slice(0, 4).join(' ')}`);
  }
  const page = out.indexOf('\npage (');
  const env = out.indexOf('\nenvironment (');
  const harness = out.indexOf('\nharness (');
  assert.ok(page > 0 && env > page && harness > env, 'groups in the order page, environment, harness');
  // Erratum 8 (environment) is printed inside the environment group.
  const e8 = out.indexOf('8. kind has no LoadBalancer');
  assert.ok(e8 > env && e8 < harness);
});

test('--json: groups carry every erratum once, with fix and kind', () => {
  const { code, out } = run(['--json']);
  assert.is(code, 0);
  const doc = JSON.parse(out) as {
    profile: null;
    groups: { kind: string; errata: { id: number; fix: string }[] }[];
  };
  assert.is(doc.profile, null);
  const ids = doc.groups.flatMap((g) => g.errata.map((e) => e.id)).sort((a, b) => a - b);
  assert.equal(
    ids,
    ERRATA.map((e) => e.id).sort((a, b) => a - b),
  );
  for (const g of doc.groups) for (const e of g.errata) assert.ok(e.fix.length > 0);
  assert.equal(
    doc.groups.map((g) => g.kind),
    groupErrata(ERRATA).map((g) => g.kind),
  );
});

test('--profile plain: only the errata every profile needs', () => {
  const { out } = run(['--profile', 'plain', '--json']);
  const doc = JSON.parse(out) as { profile: string; groups: { errata: { id: number }[] }[] };
  assert.is(doc.profile, 'plain');
  assert.equal(doc.groups.flatMap((g) => g.errata.map((e) => e.id)).sort(), [8, 9]);
});

test('bad input is a UsageError (exit 2 through runMain)', () => {
  assert.throws(
    () => run(['--profile', 'nope']),
    (e: unknown) => e instanceof UsageError && /unknown profile/.test((e as Error).message),
  );
  assert.throws(
    () => run(['--jsn']),
    (e: unknown) => e instanceof UsageError,
  );
});

test('--help documents the options', () => {
  const { code, out } = run(['--help']);
  assert.is(code, 0);
  for (const f of ['--profile', '--json', '--help']) assert.match(out, f);
});

test.run();
