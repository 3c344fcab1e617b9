// Every command against the exit-code contract, in-process (runCommand: what runMain does, without
// exiting): for each command, a real case for each code it can give. Codes a command cannot give
// are listed with why (classify judges nothing; errata reads only the project's own data).
// Covered elsewhere too: the lab's 0/1 (test/lab/cli.test.ts), tcpdump missing or not permitted
// (3, test/lab/capture.test.ts), probe 0/1 against a lab (test/probe/cli.test.ts), chart-check
// 0/1 (test/chart-check), e2e's real entry point without Docker (3, test/cli/e2e-cli.test.ts).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chartCheckMain } from '../../scripts/chart-check.ts';
import { errataMain } from '../../scripts/errata.ts';
import { classifyCli } from '../../scripts/lib/capture/cli.ts';
import { pcapFile, records, TcpConversation } from '../../scripts/lib/capture/craft.ts';
import { FetchError } from '../../scripts/lib/chart-check/fetch.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { runCommand } from '../../scripts/lib/cli/main.ts';
import { labCli } from '../../scripts/lib/lab/cli.ts';
import { foreignClientCertificate } from '../../scripts/lib/lab/pki.ts';
import { buildPlan } from '../../scripts/lib/plan/build.ts';
import { probeCli } from '../../scripts/lib/probe/cli.ts';
import { runCluster } from '../../scripts/lib/run/cluster-run.ts';
import { e2eMain } from '../../scripts/lib/run/e2e.ts';
import { toolsCli } from '../../scripts/lib/tools/cli.ts';
import { resolveTool } from '../../scripts/lib/tools/fetch.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';
import { dockerInfoJson, fakeRunner } from '../preflight/helpers/fake-runner.ts';
import { closedPort } from '../tools/helpers/serve.ts';

const dir = mkdtempSync(join(tmpdir(), 'exit-codes-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Runs a command in-process; process.stdout/stderr are captured for commands that write there. */
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
  const so = process.stdout.write.bind(process.stdout);
  const se = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => {
    io.out(String(c));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => {
    io.err(String(c));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await runCommand(() => main(io), io.err);
    return { code, out, err };
  } finally {
    process.stdout.write = so;
    process.stderr.write = se;
  }
}

/** Bad input is one line (what was wrong — what to do), no stack trace. */
function oneLine(r: Ran, what: RegExp | string): void {
  assert.is(r.code, 2, r.err);
  assert.match(r.err, what);
  assert.is(r.err.trimEnd().split('\n').length, 1, `one line: ${r.err}`);
  assert.not.match(r.err, /\bat .*\.ts:\d+/);
}

test('e2e: 0 plan, 1 a failed verdict, 2 a bad flag, 3 no Docker (4: see exit-codes.test.ts)', async () => {
  assert.is((await ran(() => e2eMain(['--profile', 'plain', '--dry-run']))).code, 0);
  oneLine(await ran(() => e2eMain(['--profile', 'plain', '--bogus'])), "Unknown option '--bogus'");
  oneLine(await ran(() => e2eMain(['--profile', 'ful-mtls'])), "unknown profile 'ful-mtls'");
  // No docker on PATH: the real check, the real runner.
  const path = process.env.PATH;
  const out = join(dir, 'e2e-nodocker');
  process.env.PATH = '/nonexistent';
  let noDocker: Ran;
  try {
    noDocker = await ran(() => e2eMain(['--profile', 'plain', '--output', out]));
  } finally {
    process.env.PATH = path;
  }
  assert.is(noDocker.code, 3, noDocker.err);
  assert.match(noDocker.err, 'Docker is not installed');
  assert.match(noDocker.err, 'Install Docker Engine');
  assert.not.ok(existsSync(out));
  // Docker answers, every path is judged and fails (no evidence was gathered): exit 1.
  const opts = { ...parseE2eArgs(['--profile', 'grpc-tls']), output: join(dir, 'e2e-fail') };
  const plan = buildPlan(opts);
  const reportOnly = { ...plan, steps: plan.steps.filter((s) => s.id === 'report.write') };
  assert.is(reportOnly.steps.length, 1);
  const failed = await ran(() =>
    runCluster(opts, reportOnly, {
      runner: fakeRunner([['docker info', { stdout: dockerInfoJson() }]]),
      out: () => {},
    }),
  );
  assert.is(failed.code, 1, failed.err);
  assert.ok(existsSync(join(dir, 'e2e-fail', 'report.json')));
});

test('lab: 2 a bad flag, 3 no helm to render the profile chart', async () => {
  const lab = (argv: string[], helm: string | (() => Promise<string>)) =>
    ran((io) => labCli(argv, { stdout: io.out, stderr: io.err }, { helm }));
  oneLine(await lab(['--profile', 'plain', '--timeout', 'soon'], testHelm), '--timeout must be milliseconds');
  const noHelm = await lab(['--profile', 'plain'], '/nonexistent/helm');
  assert.is(noHelm.code, 3, noHelm.err);
  assert.match(noHelm.err, 'npm run tools -- fetch helm');
});

test('probe: 2 bad input (a flag, an unreadable file), 3 nothing listens at the target', async () => {
  const probe = (argv: string[]) => ran((io) => probeCli(argv, { stdout: io.out, stderr: io.err }));
  oneLine(
    await probe(['--target', '127.0.0.1:6666', '--protocol', 'quic', '--expect', 'tls']),
    "unknown --protocol 'quic'",
  );
  oneLine(
    await probe([
      '--target',
      '127.0.0.1:6666',
      '--protocol',
      'grpc',
      '--expect',
      'tls',
      '--ca',
      join(dir, 'no.crt'),
      '--server-name',
      'x',
    ]),
    /cannot read --ca .*no\.crt/,
  );
  const port = await closedPort();
  const none = await probe([
    '--target',
    `127.0.0.1:${port}`,
    '--protocol',
    'http',
    '--expect',
    'plain',
    '--server-name',
    'api',
  ]);
  assert.is(none.code, 3, none.err + none.out);
  assert.match(none.err, `nothing answers at 127.0.0.1:${port} (ECONNREFUSED)`);
  assert.is(none.out, '', 'no verdict printed');
  // A plain HTTP server expected to be plain: 0; expected to require TLS, it serves plaintext: 1.
  const server = createServer((_q, r) => r.end('ok')).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.is(
      (await probe(['--target', target, '--protocol', 'http', '--expect', 'plain', '--server-name', 'api']))
        .code,
      0,
    );
    const ca = join(dir, 'ca.crt');
    writeFileSync(ca, (await foreignClientCertificate())['tls.crt']);
    const tls = await probe([
      '--target',
      target,
      '--protocol',
      'https',
      '--expect',
      'tls',
      '--ca',
      ca,
      '--server-name',
      'api',
    ]);
    assert.is(tls.code, 1, tls.out + tls.err);
    assert.match(tls.out, 'RESULT: FAIL');
  } finally {
    server.close();
  }
});

test('classify: 0 a capture, 2 a bad file or flag (it judges nothing: no 1, 3 or 4)', async () => {
  const file = join(dir, 'one.pcap');
  const c = new TcpConversation({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 80 }).handshake();
  writeFileSync(file, pcapFile(records(c.send('c', Buffer.from('GET / HTTP/1.1\r\n\r\n')).close().packets)));
  const classify = (argv: string[]) => ran((io) => classifyCli(argv, io));
  assert.is((await classify([file])).code, 0);
  oneLine(await classify([join(dir, 'none.pcap')]), /none\.pcap: cannot read: no such file/);
  oneLine(await classify(['--jsn', file]), "Unknown option '--jsn'");
});

test('chart-check: 2 a bad flag, 3 no helm and no chart to fetch', async () => {
  const cacheDir = join(dir, 'tools');
  const base = `http://127.0.0.1:${await closedPort()}`;
  const check = (
    argv: string[],
    fetch = async (ref: string): Promise<never> => {
      throw new FetchError(`cannot fetch Direktiv ${ref}: no network here`, 'give --chart');
    },
  ) =>
    ran((io) =>
      chartCheckMain(argv, {
        ...io,
        fetch,
        helm: async () =>
          (await resolveTool('helm', { cacheDir, baseUrl: base, pathEnv: '/nonexistent' })).path,
      }),
    );
  oneLine(await check(['--profile', 'nope']), "unknown profile 'nope'");
  const noHelm = await check([
    '--chart',
    'test/fixtures/charts/direktiv-like',
    '--against',
    'test/fixtures/charts/direktiv-like',
  ]);
  assert.is(noHelm.code, 3, noHelm.err);
  assert.match(noHelm.err, 'could not download');
  const noChart = await check([]);
  assert.is(noChart.code, 3, noChart.err);
  assert.match(noChart.err, 'cannot fetch Direktiv');
});

test('errata: 0 and 2 (it reads only the project data: no verdict, nothing to run)', async () => {
  assert.is((await ran((io) => errataMain([], io.out))).code, 0);
  oneLine(await ran((io) => errataMain(['--profile', 'nope'], io.out)), "unknown profile 'nope'");
});

test('tools: 0 list, 2 a bad command, 3 a tool that cannot be fetched', async () => {
  const cacheDir = join(dir, 'tools-cli');
  const opts = {
    cacheDir,
    platform: 'linux-amd64' as const,
    baseUrl: `http://127.0.0.1:${await closedPort()}`,
    pathEnv: '/nonexistent',
  };
  assert.is((await ran((io) => toolsCli(['list'], opts, io))).code, 0);
  oneLine(await ran((io) => toolsCli(['bogus'], opts, io)), "unknown command 'bogus'");
  const fetch = await ran((io) => toolsCli(['fetch', 'helm'], opts, io));
  assert.is(fetch.code, 3, fetch.err);
  const path = await ran((io) => toolsCli(['path', 'kind'], opts, io));
  assert.is(path.code, 3, path.err);
});

test.run();
