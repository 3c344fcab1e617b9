// The expected-state table in code must equal the spec's table (docs/profiles-and-paths.md, a copy
// of the project's shared spec; when the shared original sits beside the checkout, it is read too).
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, isPathId, PATH_IDS, type PathId, PROFILE_NAMES } from '../../scenarios/index.ts';

const SOURCES = ['docs/profiles-and-paths.md', '../shared/profiles-and-paths.md'].filter((p) =>
  existsSync(p),
);

/** Parses "Expected state per profile" into profile -> path -> cell text. */
function parseSpec(md: string): Map<string, Map<PathId, string>> {
  const start = md.indexOf('Expected state per profile');
  assert.ok(start > 0, 'spec has the expected-state section');
  const lines = md.slice(start).split('\n');
  const rows = lines.filter((l) => l.startsWith('|'));
  const header = rows[0]!
    .split('|')
    .map((c) => c.trim())
    .filter(Boolean);
  const profiles = header.slice(1);
  const out = new Map<string, Map<PathId, string>>(profiles.map((p) => [p, new Map()]));
  for (const row of rows.slice(2)) {
    const cells = row
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length !== header.length) break;
    const ids = [...cells[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const id of ids) {
      assert.ok(isPathId(id), `spec path id ${id} is known`);
      for (const [i, p] of profiles.entries()) out.get(p)!.set(id as PathId, cells[i + 1]!);
    }
  }
  return out;
}

/** The cell as the code states it; the spec writes engine->knative's open port 80 as a note. */
function cellFromCode(profile: string, id: PathId): string {
  const e = buildScenario({ profile }).expected[id];
  return e.plainPortOpen ? `${e.state} (port 80 still open unless \`--strict\`)` : e.state;
}

test('a spec copy is present', () => {
  assert.ok(SOURCES.length >= 1);
});

for (const src of SOURCES) {
  test(`expected-state table equals ${src}`, () => {
    const spec = parseSpec(readFileSync(src, 'utf8'));
    assert.equal([...spec.keys()], [...PROFILE_NAMES], 'same profiles in the same order');
    for (const p of PROFILE_NAMES) {
      const col = spec.get(p)!;
      assert.equal([...col.keys()].sort(), [...PATH_IDS].sort(), `${p}: every path has a cell`);
      for (const id of PATH_IDS) assert.is(cellFromCode(p, id), col.get(id), `${p} ${id}`);
    }
  });
}

test('the comparison can fail: a changed cell is noticed', () => {
  const md = readFileSync(SOURCES[0]!, 'utf8').replace(/(\| `engine->pod`\s+\| )plain/, '$1tls  ');
  const spec = parseSpec(md);
  assert.is.not(cellFromCode('plain', 'engine->pod'), spec.get('plain')!.get('engine->pod'));
});

test('strict turns the internal Envoy into https (port 80 redirects)', () => {
  const s = buildScenario({ profile: 'full-mtls', strict: true });
  assert.equal(s.expected['engine->knative'], { state: 'https' });
});

test.run();
