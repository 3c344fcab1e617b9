// The control-plane run's pins (kind/versions.ts upstreamPins) and the Go modules that build them
// (tools/upstream/<dir>/go.mod) must say the same thing: one fact, checked in both places.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { upstreamPins } from '../../kind/versions.ts';

const read = (dir: string, file: string) =>
  readFileSync(new URL(`../../tools/upstream/${dir}/${file}`, import.meta.url), 'utf8');

/** `module version` of every require line, direct ones only (no `// indirect`). */
function directRequires(goMod: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = goMod.replace(/require \(([\s\S]*?)\)/g, (_m, body: string) =>
    body
      .split('\n')
      .map((l) => `require ${l.trim()}`)
      .join('\n'),
  );
  for (const l of lines.split('\n')) {
    const m = /^require\s+(\S+)\s+(\S+)\s*$/.exec(l.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

for (const [name, pin] of Object.entries(upstreamPins)) {
  test(`${name}: go.mod requires ${pin.module} at the pinned version, tools.go imports every program`, () => {
    const req = directRequires(read(pin.dir, 'go.mod'));
    assert.is(req.get(pin.module), pin.version, `tools/upstream/${pin.dir}/go.mod`);
    assert.ok(
      read(pin.dir, 'go.sum').includes(`${pin.module} ${pin.version} h1:`),
      'go.sum has the module hash',
    );
    const tools = read(pin.dir, 'tools.go');
    for (const pkg of Object.values(pin.programs))
      assert.ok(tools.includes(`"${pkg}"`), `tools.go imports ${pkg}`);
  });
}

test('kubernetes: every staging module is replaced by the release that matches the pin', () => {
  const goMod = read('kubernetes', 'go.mod');
  const staging = `v0.${upstreamPins.kubernetes.version.replace(/^v1\./, '')}`;
  const replaces = [...goMod.matchAll(/^replace (k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
  assert.ok(replaces.length >= 25, `${replaces.length} staging replaces`);
  for (const [, from, to, v] of replaces) {
    assert.is(to, from);
    assert.is(v, staging, from);
  }
  // The parser above must not miss a require: a known indirect one is not reported as direct.
  assert.is(directRequires(goMod).has('k8s.io/api'), false);
});

test.run();
