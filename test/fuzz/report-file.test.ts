// Bad input, fuzzed: `npm run report` reading a saved JSON run report. A wrong type in any field
// of a real report, random JSON or random bytes: the reader refuses it as bad input (exit 2, one
// line naming the file), or what it accepts is drawn without a crash and exits with the verdicts'
// code (0, 1 or 4, RESULT line printed). Never an unexpected exception.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, PATH_IDS } from '../../scenarios/index.ts';
import type { ActivePathEvidence } from '../../scripts/lib/probe/types.ts';
import { reportCli } from '../../scripts/lib/report/cli.ts';
import { renderJson } from '../../scripts/lib/report/render.ts';
import { profileResult } from '../../scripts/lib/report/result.ts';
import { buildReport } from '../../scripts/lib/report/types.ts';
import type { PathEvidence } from '../../scripts/lib/verdict/verdict.ts';
import { fc, fuzzAsync } from '../helpers/fuzz.ts';

const dir = mkdtempSync(join(tmpdir(), 'fuzz-report-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const active = (checks: ActivePathEvidence['checks']): ActivePathEvidence => ({
  kind: 'active',
  target: { protocol: 'grpc', address: '127.0.0.1', port: 6666, serverName: 'direktiv-ingress-hl.default' },
  expected: { state: 'plain' },
  facts: { plaintext: [], handshake: { port: 6666, displayPort: 6666, ok: true }, legacy: [] },
  checks,
  observed: 'plain',
  durationMs: 1,
});
const evidence: Partial<Record<(typeof PATH_IDS)[number], PathEvidence>> = {};
for (const id of PATH_IDS)
  evidence[id] = { active: active([{ name: 'plaintext-served', ok: true, detail: '200' }]) };
const base = JSON.parse(
  renderJson(
    buildReport([
      profileResult(buildScenario({ profile: 'plain' }), evidence, { source: 'lab', durationMs: 1 }),
    ]),
  ),
) as Record<string, unknown>;

/** Every path into the report down to depth 4 (objects and the first element of lists). */
function pathsOf(v: unknown, at: string[] = [], out: string[][] = []): string[][] {
  if (at.length) out.push(at);
  if (at.length >= 5 || v === null || typeof v !== 'object') return out;
  const entries = Array.isArray(v) ? (v.length ? [['0', v[0]] as const] : []) : Object.entries(v);
  for (const [k, x] of entries) pathsOf(x, [...at, k], out);
  return out;
}
const paths = pathsOf(base);
function setPath(o: unknown, path: string[], v: unknown): unknown {
  const copy = structuredClone(o) as Record<string, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[path.at(-1)!] = v;
  return copy;
}

test('report files: a wrong value anywhere, random JSON, random bytes: drawn (0/1/4) or bad input (2, one line)', async () => {
  const file = join(dir, 'run.json');
  await fuzzAsync(
    'report file',
    200,
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(fc.constantFrom(...paths), fc.jsonValue())
          .map(([p, v]) => JSON.stringify(setPath(base, p, v))),
      },
      { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
      {
        weight: 1,
        arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      },
    ),
    async (text) => {
      writeFileSync(file, text);
      let out = '';
      let err = '';
      const code = await reportCli([file], {
        stdout: (s) => {
          out += s;
        },
        stderr: (s) => {
          err += s;
        },
      });
      if (code === 2) {
        assert.is(err.trimEnd().split('\n').length, 1, err);
        assert.ok(err.startsWith(`error: ${file}`), err);
        return;
      }
      // Accepted: drawn, and the code is the verdicts' (a crash would be exit 1 with "error:").
      assert.ok([0, 1, 4].includes(code), `exit ${code}: ${err}`);
      assert.is(err, '', `nothing on stderr when drawn: ${err}`);
      assert.match(out, /RESULT: (PASS|FAIL|INCONCLUSIVE)/);
    },
  );
});

test.run();
