// Bad input, fuzzed: the files the harness reads (a reproduction bundle's run.json,
// kind/images.yaml, rendered chart YAML) and the scenario options the profile files are built
// from. Random bytes, random JSON and YAML, wrong types in every field, deep nesting, alias bombs
// and large files: each is read, or refused as bad input (exit 2) with one line naming the file
// and the field. Never another error, never a hang.
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { ImagesFileError, imagesFile, loadImageOverrides } from '../../kind/images.ts';
import { BadInputError, UsageError } from '../../scenarios/errors.ts';
import { buildScenario } from '../../scenarios/index.ts';
import { readBundle } from '../../scripts/lib/bundle/index.ts';
import { parseManifests } from '../../scripts/lib/chart/render.ts';
import { EXIT, exitCodeOfError, formatError } from '../../scripts/lib/cli/exit-codes.ts';
import { fc, fuzz } from '../helpers/fuzz.ts';

const dir = mkdtempSync(join(tmpdir(), 'fuzz-files-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `read`; an error must be bad input, printed as one line that names `file`. */
function readOrBadInput(file: string, read: () => unknown): void {
  try {
    read();
  } catch (e) {
    assert.is(
      exitCodeOfError(e),
      EXIT.BAD_INPUT,
      `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`,
    );
    const line = formatError(e);
    assert.is(line.trimEnd().split('\n').length, 1, line);
    assert.ok(line.includes(file), `names ${file}: ${line}`);
  }
}

// --- run.json -----------------------------------------------------------------------------------

const bundleDir = join(dir, 'bundle');
mkdirSync(bundleDir);
const runJson = join(bundleDir, 'run.json');
const valid = {
  bundleVersion: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  run: { chart: null, scenarios: [] },
  seed: 'abc',
  replay: { argv: ['--profile', 'grpc-tls', '--output', join(dir, 'out')] },
};
/** Sets one dotted path of a JSON value (creating objects on the way). */
function setPath(o: Record<string, unknown>, path: string[], v: unknown): Record<string, unknown> {
  const copy = structuredClone(o);
  let at: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) {
    if (typeof at[k] !== 'object' || at[k] === null) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[path.at(-1)!] = v;
  return copy;
}
const paths = [
  ['bundleVersion'],
  ['createdAt'],
  ['run'],
  ['run', 'chart'],
  ['run', 'chart', 'inBundle'],
  ['seed'],
  ['replay'],
  ['replay', 'argv'],
  ['replay', 'argv', '0'],
  ['replay', 'argv', '1'],
  ['replay', 'argv', '3'],
];
const flagWords = fc.constantFrom(
  '--profile',
  '--features',
  '--chart',
  '--mode',
  '--http-port',
  '--namespace',
  '--',
  '-h',
  'all',
  'plain',
  '99999',
  '',
);

test('run.json: random bytes, random JSON, a wrong type in any field: read or bad input naming run.json', () => {
  writeFileSync(runJson, JSON.stringify(valid));
  assert.is(readBundle(bundleDir).scenarios[0]?.name, 'grpc-tls', 'the base case reads');
  fuzz(
    'bundle run.json',
    300,
    fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .tuple(fc.constantFrom(...paths), fc.jsonValue())
        .map(([p, v]) => JSON.stringify(setPath(valid, p, v))),
      fc
        .array(fc.oneof(flagWords, fc.string({ maxLength: 12 })), { maxLength: 6 })
        .map((argv) => JSON.stringify(setPath(valid, ['replay', 'argv'], argv))),
    ),
    (text) => {
      writeFileSync(runJson, text);
      readOrBadInput(runJson, () => readBundle(bundleDir));
    },
  );
});

test('run.json larger than any bundle: refused before it is read', () => {
  const fd = openSync(runJson, 'w');
  ftruncateSync(fd, 64 * 1024 * 1024);
  closeSync(fd);
  try {
    readBundle(bundleDir);
    assert.unreachable('a 64 MiB run.json was read');
  } catch (e) {
    assert.instance(e, BadInputError);
    assert.match((e as Error).message, /run\.json: not JSON \(67108864 bytes, more than a bundle's/);
  }
});

// --- kind/images.yaml -------------------------------------------------------------------------

const imagesDoc = parse(readFileSync(imagesFile, 'utf8')) as Record<string, unknown>;
const imagesCopy = join(dir, 'images.yaml');
/** A path into the real images.yaml: top-level keys, an image entry, one of its fields. */
const imagePaths = (() => {
  const out: string[][] = [['version'], ['images'], ['direktivValues'], ['registryMirrors']];
  for (const [k, v] of Object.entries(imagesDoc.images as Record<string, Record<string, unknown>>)) {
    out.push(['images', k]);
    for (const f of Object.keys(v)) out.push(['images', k, f]);
    out.push(['images', k, 'use'], ['images', k, 'values']);
  }
  out.push(['direktivValues', 'x'], ['registryMirrors', 'docker.io'], ['registryMirrors', 'docker.io', '0']);
  return out;
})();
const yamlValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(
    'docker.io/x:1',
    'x@sha256:abc',
    'http://mirror',
    'ftp://m',
    ' ',
    'a b',
    '::',
    null,
    7,
    [],
    {},
  ),
);

test('images.yaml: a wrong value anywhere, random YAML, random bytes: read or bad input naming the file', () => {
  writeFileSync(imagesCopy, readFileSync(imagesFile));
  loadImageOverrides(imagesCopy); // the base case reads
  fuzz(
    'images.yaml',
    300,
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.constantFrom(...imagePaths), yamlValue)
          .map(([p, v]) => stringify(setPath(imagesDoc, p, v))),
      },
      { weight: 1, arbitrary: fc.jsonValue().map((v) => stringify(v)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
      {
        weight: 1,
        arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
      },
    ),
    (text) => {
      writeFileSync(imagesCopy, text);
      readOrBadInput(imagesCopy, () => loadImageOverrides(imagesCopy));
    },
  );
});

/** `levels` of aliases, each a list of `fan` references to the level below: fan^levels nodes. */
function aliasBomb(levels: number, fan: number): string {
  let y = 'version: 1\nl0: &l0 [lol, lol]\n';
  for (let i = 1; i <= levels; i++)
    y += `l${i}: &l${i} [${Array(fan)
      .fill(`*l${i - 1}`)
      .join(', ')}]\n`;
  return `${y}images: {}\n`;
}

test('deep and aliased YAML (billion laughs): refused as bad input, in bounded time', () => {
  fuzz(
    'yaml depth and aliases',
    25,
    fc.oneof(
      fc
        .record({ levels: fc.integer({ min: 5, max: 40 }), fan: fc.integer({ min: 5, max: 12 }) })
        .map((b) => aliasBomb(b.levels, b.fan)),
      fc
        .integer({ min: 200, max: 20_000 })
        .map((d) => `version: 1\nimages: ${'['.repeat(d)}${']'.repeat(d)}\n`),
      fc
        .integer({ min: 200, max: 3_000 })
        .map(
          (d) =>
            `version: 1\nimages:\n${Array.from({ length: d }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} x\n`,
        ),
    ),
    (text) => {
      writeFileSync(imagesCopy, text);
      readOrBadInput(imagesCopy, () => loadImageOverrides(imagesCopy));
    },
  );
  // The same bombs in rendered chart output (a chart under test can emit them): refused, not expanded.
  for (const [levels, fan] of [
    [10, 10],
    [30, 8],
  ] as const) {
    assert.throws(
      () =>
        parseManifests(
          `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  ${aliasBomb(levels, fan).replace(/\n/g, '\n  ')}`,
        ),
      /Excessive alias count/,
    );
  }
  // A file too large to be an image list is refused before parsing.
  writeFileSync(imagesCopy, `version: 1\nimages: {}\n#${'x'.repeat(300 * 1024)}\n`);
  try {
    loadImageOverrides(imagesCopy);
    assert.unreachable('a 300 KiB images.yaml was read');
  } catch (e) {
    assert.instance(e, ImagesFileError);
    assert.match((e as Error).message, /images\.yaml: cannot read or parse: \d+ bytes, more than 262144/);
  }
});

// --- scenarios: the options the profile files are built from -----------------------------------

const word = fc.oneof(
  fc.constantFrom(
    'plain',
    'full-mtls',
    'grpc-mtls',
    'all',
    'ingress',
    'grpc-tls,grpc-mtls',
    'services',
    'corrected',
    'as-documented',
    'default',
    'a.b',
    '-',
    '',
    ' ',
    'Ünïcode',
    'x'.repeat(300),
  ),
  fc.string({ maxLength: 40 }),
);
test('scenario options (profile, features, mode, namespaces, host): a scenario or a usage error', () => {
  fuzz(
    'scenario options',
    400,
    fc.record(
      {
        profile: word,
        features: word,
        mode: word,
        namespace: word,
        serviceNamespace: word,
        ingressHost: word,
        strict: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    (opts) => {
      try {
        const s = buildScenario(opts);
        assert.type(s.name, 'string');
      } catch (e) {
        assert.instance(e, UsageError, `${(e as Error).constructor.name}: ${(e as Error).message}`);
        assert.is(formatError(e).trimEnd().split('\n').length, 1);
      }
    },
  );
});

test.run();
