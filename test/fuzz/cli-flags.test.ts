// Bad input, fuzzed: the command lines of e2e, lab, probe, classify, chart-check, errata and tools.
// Random argv built from every command's flags, their --flag=value forms, values that look like
// flags, ports, paths that do not exist and random strings. Each command line either parses (the
// command then stops at a stub where the real work would start) or exits 2 with one line: never
// another code, never a stack trace. No server is started and nothing is dialled or downloaded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CouldNotRunError, UsageError } from '../../scenarios/errors.ts';
import { chartCheckMain } from '../../scripts/chart-check.ts';
import { errataMain } from '../../scripts/errata.ts';
import { classifyCli } from '../../scripts/lib/capture/cli.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { formatError } from '../../scripts/lib/cli/exit-codes.ts';
import { runCommand } from '../../scripts/lib/cli/main.ts';
import { labCli } from '../../scripts/lib/lab/cli.ts';
import { probeCli } from '../../scripts/lib/probe/cli.ts';
import { toolsCli } from '../../scripts/lib/tools/cli.ts';
import { fc, fuzzAsync } from '../helpers/fuzz.ts';
import { closedPort } from '../tools/helpers/serve.ts';

const dir = mkdtempSync(join(tmpdir(), 'fuzz-flags-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Where a parsed command line would start real work: the stub says so (exit 3, this message). */
const STOP = 'fuzz: parsed; the real work would start here';
const stop = (): never => {
  throw new CouldNotRunError(STOP, 'none');
};

const flags = [
  'profile',
  'profiles',
  'features',
  'mode',
  'namespace',
  'service-namespace',
  'ingress-host',
  'strict',
  'dry-run',
  'output',
  'keep',
  'keep-on-failure',
  'cluster-name',
  'http-port',
  'https-port',
  'chart',
  'direktiv-ref',
  'knative-image',
  'isolated-image',
  'no-capture',
  'allow-legacy-tls',
  'json',
  'junit',
  'markdown',
  'html',
  'replay',
  'mutate',
  'capture',
  'pcap',
  'timeout',
  'target',
  'protocol',
  'expect',
  'ca',
  'client-cert',
  'client-key',
  'server-name',
  'plain-port',
  'allow-truncated',
  'against',
  'help',
];
const values = [
  'plain',
  'full-mtls',
  'all',
  'grpc-tls,grpc-mtls',
  'ingress,services',
  'as-documented',
  'corrected',
  'default',
  'Bad_NS',
  '0',
  '-1',
  '65536',
  '3000',
  '1e3',
  '127.0.0.1:6666',
  '[::1]:0',
  'host:port',
  'grpc',
  'https',
  'http',
  'tls',
  'mtls',
  'expired',
  'plaintext-server@engine->functions',
  join(dir, 'none', 'x.json'),
  join(dir, 'r.json'),
  dir,
  '/',
  '.',
  '',
  ' ',
  '--',
  '-h',
  '-x',
  'list',
  'fetch',
  'verify',
  'path',
  'helm',
  'kind',
];
const token = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...flags).map((f) => `--${f}`) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...flags), fc.constantFrom(...values)).map(([f, v]) => `--${f}=${v}`),
  },
  { weight: 3, arbitrary: fc.constantFrom(...values) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const argv = fc.array(token, { maxLength: 7 });

interface Ran {
  code: number;
  out: string;
  err: string;
}
async function ran(
  main: (io: { out: (s: string) => void; err: (s: string) => void }) => number | Promise<number>,
): Promise<Ran> {
  let out = '';
  let err = '';
  const io = {
    out: (s: string) => {
      out += s;
    },
    err: (s: string) => {
      err += s;
    },
  };
  const code = await runCommand(() => main(io), io.err);
  return { code, out, err };
}

/** 0 (help), 2 with one line, or the stub's 3: nothing else. */
function parsedOrOneLine(r: Ran, args: string[]): void {
  const what = `${JSON.stringify(args)} -> ${r.code}: ${r.err}`;
  if (r.code === 3) {
    assert.match(r.err, STOP, what);
    return;
  }
  assert.ok(r.code === 0 || r.code === 2, what);
  if (r.code === 2) {
    assert.is(r.err.trimEnd().split('\n').length, 1, what);
    assert.ok(r.err.startsWith('error: '), what);
  }
  assert.not.match(r.err, /\bat .*\.ts:\d+/, what);
}

test('e2e flags: options or a usage error (one line)', async () => {
  await fuzzAsync('e2e flags', 300, argv, async (args) => {
    try {
      parseE2eArgs(args);
    } catch (e) {
      assert.instance(e, UsageError, `${JSON.stringify(args)}: ${(e as Error).message}`);
      assert.is(formatError(e).trimEnd().split('\n').length, 1);
    }
  });
});

test('lab flags: parsed up to the chart render, or exit 2 with one line', async () => {
  await fuzzAsync('lab flags', 200, argv, async (args) => {
    const r = await ran((io) =>
      labCli(args, { stdout: io.out, stderr: io.err }, { helm: async () => stop() }),
    );
    // The lab wraps what stops its render: it is still exit 3, with the stub's words.
    parsedOrOneLine(r, args);
  });
});

test('probe flags: parsed up to the first dial, or exit 2 with one line', async () => {
  await fuzzAsync('probe flags', 200, argv, async (args) => {
    parsedOrOneLine(
      await ran((io) =>
        probeCli(args, { stdout: io.out, stderr: io.err }, { listening: async () => stop() }),
      ),
      args,
    );
  });
});

test('classify, chart-check, errata, tools flags: exit 0 or 2 (or the stub), one line', async () => {
  const base = `http://127.0.0.1:${await closedPort()}`;
  const toolOpts = {
    cacheDir: join(dir, 'tools'),
    baseUrl: base,
    pathEnv: '/nonexistent',
    platform: 'linux-amd64' as const,
  };
  await fuzzAsync('classify flags', 150, argv, async (args) => {
    parsedOrOneLine(await ran((io) => classifyCli(args, io)), args);
  });
  await fuzzAsync('chart-check flags', 150, argv, async (args) => {
    parsedOrOneLine(
      await ran((io) => chartCheckMain(args, { ...io, helm: async () => stop(), fetch: async () => stop() })),
      args,
    );
  });
  await fuzzAsync('errata flags', 150, argv, async (args) => {
    parsedOrOneLine(await ran((io) => errataMain(args, io.out)), args);
  });
  await fuzzAsync('tools flags', 100, argv, async (args) => {
    const r = await ran((io) => toolsCli(args, toolOpts, io));
    // fetch/path reach the (closed) download site: 3, said on stderr without a stack trace.
    if (r.code === 3) assert.match(r.err, /could not download|not found/);
    // verify is a check: a tool missing from the (empty) cache fails it, naming the tool.
    else if (r.code === 1) assert.match(r.out, /^FAIL (kind|helm|kubectl) /m, JSON.stringify(args));
    else parsedOrOneLine(r, args);
  });
});

test.run();
