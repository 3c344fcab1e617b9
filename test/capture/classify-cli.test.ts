// `npm run classify`: the per-flow table and summary, --json, --help, and exit 2 with the reason
// (never a stack trace) for files that are missing, truncated, garbage or not captures.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifyCli } from '../../scripts/lib/capture/cli.ts';
import {
  clientHello,
  pcapFile,
  pcapngFile,
  records,
  serverHello,
  TcpConversation,
  tlsRecord,
} from '../../scripts/lib/capture/craft.ts';

const dir = mkdtempSync(join(tmpdir(), 'classify-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function run(...argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = classifyCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const tls = new TcpConversation({ ip: '10.244.0.7', port: 40100 }, { ip: '10.244.0.9', port: 5555 })
  .handshake()
  .send(
    'c',
    Buffer.concat([
      clientHello({ sni: 'direktiv-functions-hl.default', alpn: ['h2'] }),
      tlsRecord(23, Buffer.alloc(60)),
    ]),
  )
  .send('s', Buffer.concat([serverHello(0x0304), tlsRecord(23, Buffer.alloc(400))]))
  .close();
const plain = new TcpConversation({ ip: '10.244.0.7', port: 40200 }, { ip: '10.244.0.3', port: 5432 })
  .handshake()
  .send('c', Buffer.from('0000000804d2162f', 'hex'))
  .send('s', Buffer.from('N'))
  .send('c', Buffer.from('\0\0\0\x17\0\x03\0\0user\0direktiv\0\0', 'latin1'))
  .close();
const good = join(dir, 'good.pcapng');
writeFileSync(
  good,
  pcapngFile([{ interfaces: [{ linkType: 1 }], records: records([...tls.packets, ...plain.packets]) }]),
);

test('prints one line per flow with endpoints, bytes, class, TLS version, SNI, ALPN, plaintext bytes, and a summary', () => {
  const r = run(good);
  assert.is(r.code, 0, r.err);
  assert.is(r.err, '');
  const lines = r.out.split('\n');
  assert.match(lines[0]!, 'good.pcapng: pcapng (little-endian, Ethernet), 17 packets (17 TCP), 2 flows');
  assert.match(lines[1]!, /^#\s+client\s+server\s+class\s+c->s\s+s->c\s+clear\s+tls\s+sni\s+alpn$/);
  assert.match(
    lines[2]!,
    /^1\s+10\.244\.0\.7:40100\s+10\.244\.0\.9:5555\s+tls\s+\d+\s+\d+\s+0\s+TLS 1\.3\s+direktiv-functions-hl\.default\s+h2$/,
  );
  assert.match(lines[3]!, 'ServerHello selected TLS 1.3; application data followed');
  assert.match(lines[4]!, /^2\s+10\.244\.0\.7:40200\s+10\.244\.0\.3:5432\s+postgres\s+31\s+1\s+32\s+-/);
  assert.match(lines[5]!, "SSLRequest refused ('N'), then StartupMessage in clear (user=direktiv)");
  assert.match(
    r.out,
    'summary: 2 flows: tls 1, postgres 1\n  plaintext: 1 flow, 32 bytes in clear\n  tls: 1 flow (TLS 1.3 x1)',
  );
});

test('--json gives FlowSummary objects and the summary', () => {
  const r = run(good, '--json');
  assert.is(r.code, 0);
  const j = JSON.parse(r.out);
  assert.is(j.capture.format, 'pcapng');
  assert.is(j.flows.length, 2);
  assert.equal(
    {
      client: j.flows[0].client,
      server: j.flows[0].server,
      serverPort: j.flows[0].serverPort,
      class: j.flows[0].class,
      tlsVersion: j.flows[0].tlsVersion,
      sni: j.flows[0].sni,
      alpn: j.flows[0].alpn,
      plaintextBytes: j.flows[0].plaintextBytes,
    },
    {
      client: '10.244.0.7:40100',
      server: '10.244.0.9:5555',
      serverPort: 5555,
      class: 'tls',
      tlsVersion: 'TLS 1.3',
      sni: 'direktiv-functions-hl.default',
      alpn: ['h2'],
      plaintextBytes: 0,
    },
  );
  assert.equal(j.summary.byClass, { tls: 1, postgres: 1 });
  assert.is(j.summary.plaintextBytes, 32);
  assert.equal(j.warnings, []);
});

test('bad files exit 2 with the reason', () => {
  const whole = pcapFile(records(tls.packets));
  const cases: Array<[string, Buffer | null, RegExp]> = [
    ['missing.pcap', null, /missing\.pcap: cannot read: no such file — /],
    ['text.pcap', Buffer.from('GET / HTTP/1.1\r\n'), /not a pcap or pcapng file \(starts with "GET \/ HT"\)/],
    ['empty.pcap', Buffer.alloc(0), /empty\.pcap: the file is empty/],
    [
      'cut.pcap',
      whole.subarray(0, whole.length - 7),
      /truncated: packet record 8 at byte \d+ needs \d+ bytes, only \d+ remain — a capture cut mid-record: --allow-truncated/,
    ],
  ];
  for (const [name, content, why] of cases) {
    const path = join(dir, name);
    if (content) writeFileSync(path, content);
    const r = run(path);
    assert.is(r.code, 2, name);
    assert.match(r.err, why);
    assert.is(r.err.split('\n').length, 2, `${name}: one line`);
    assert.is(r.out, '');
  }
  const allowed = run(join(dir, 'cut.pcap'), '--allow-truncated');
  assert.is(allowed.code, 0);
  assert.match(allowed.out, 'warning: capture truncated: packet record 8');
  const isDir = run(dir);
  assert.is(isDir.code, 2);
  assert.match(isDir.err, 'cannot read: it is a directory');
});

test('usage: no file, two files, unknown option exit 2; --help exits 0', () => {
  assert.is(run().code, 2);
  assert.match(run().err, 'no capture file given');
  assert.match(run('a', 'b').err, 'one capture file at a time (got 2)');
  const bad = run('--jsn', good);
  assert.is(bad.code, 2);
  assert.match(bad.err, "Unknown option '--jsn'");
  const help = run('--help');
  assert.is(help.code, 0);
  assert.match(help.out, 'Usage: npm run classify -- <file.pcap|file.pcapng> [--json]');
});

test('the real entry point: exit 2 and one line of reason on garbage, no stack trace', () => {
  const garbage = join(dir, 'garbage.bin');
  writeFileSync(garbage, Buffer.from('00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff', 'hex'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/classify.ts', garbage], {
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.is(r.status, 2, r.stderr);
  assert.is(
    r.stderr,
    `error: ${garbage}: cannot read: not a pcap or pcapng file (starts with 0x00ff00ff00ff00ff) — give a pcap or pcapng file (tcpdump -w)\n`,
  );
  assert.not.match(r.stderr, /\bat .*\.ts:\d+/);
  const ok = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/classify.ts', good, '--json'], {
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.is(ok.status, 0, ok.stderr);
  assert.is(JSON.parse(ok.stdout).flows.length, 2);
});

test.run();
