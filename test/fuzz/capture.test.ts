// Bad input, fuzzed: the pcap/pcapng reader and `classify` on truncated, corrupt and random
// captures, random TCP payloads in well-formed captures, and large files. Every input gets exit 0
// (it is a capture) or exit 2 with one line naming the file and the problem: never another code
// (an unexpected exception exits 1), never a stack trace, never a hang.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyzeCaptureBuffer } from '../../scripts/lib/capture/analyze.ts';
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
import { CaptureFormatError, readCaptureBuffer } from '../../scripts/lib/capture/pcap.ts';
import { fc, fuzz } from '../helpers/fuzz.ts';

const dir = mkdtempSync(join(tmpdir(), 'fuzz-capture-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const CLASSES = new Set([
  'tls',
  'http1',
  'h2c',
  'grpc-clear',
  'postgres',
  'plaintext-unknown',
  'binary-unknown',
  'empty',
]);

interface Classified {
  code: number;
  out: string;
  err: string;
}

let n = 0;
function classify(bytes: Buffer, ...flags: string[]): Classified & { file: string } {
  const file = join(dir, `c${n++ % 8}.pcap`);
  writeFileSync(file, bytes);
  let out = '';
  let err = '';
  const code = classifyCli([file, ...flags], {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err, file };
}

/**
 * The reader's contract, whatever the bytes: every packet it hands out lies inside the buffer
 * (a visitor may slice it without checking), and the only error it throws is CaptureFormatError.
 */
function readerContract(b: Buffer, tolerateTruncatedTail: boolean): void {
  try {
    readCaptureBuffer(
      b,
      (p) => {
        assert.ok(
          p.capLen >= 0 && p.offset >= 0 && p.offset + p.capLen <= p.buf.length,
          `packet ${p.index}: offset ${p.offset} capLen ${p.capLen} in ${p.buf.length} bytes`,
        );
      },
      { tolerateTruncatedTail },
    );
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
  }
}

/** Exit 0, or exit 2 with ONE line `error: <file>: <problem> — <what to do>` and nothing on stdout. */
function zeroOrOneLine(r: Classified & { file: string }): void {
  if (r.code === 0) return;
  assert.is(r.code, 2, `exit ${r.code}: ${r.err}`);
  assert.is(r.out, '');
  const lines = r.err.trimEnd().split('\n');
  assert.is(lines.length, 1, `one line: ${r.err}`);
  assert.ok(lines[0]!.startsWith(`error: ${r.file}: `), lines[0]);
  assert.not.match(r.err, /\bat .*\.ts:\d+/);
}

// --- generators: well-formed captures with hostile content -------------------------------------

const prefixes: Buffer[] = [
  Buffer.alloc(0),
  Buffer.from([0x16, 0x03, 0x01]),
  Buffer.from([0x17, 0x03, 0x03]),
  Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'),
  Buffer.from('HTTP/1.1 400 Bad Request\r\n'),
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  Buffer.from('0000000804d2162f', 'hex'), // Postgres SSLRequest
  Buffer.from([0x00, 0x00, 0x00, 0x00, 0x01]), // an HTTP/2 frame header
];
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
  fc
    .tuple(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 300 }))
    .map(([p, b]) => Buffer.concat([p, Buffer.from(b)])),
  fc
    .record({
      sni: fc.string({ maxLength: 40 }),
      alpn: fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }),
    })
    .map((o) => Buffer.concat([clientHello(o), tlsRecord(23, Buffer.alloc(20))])),
  fc.constantFrom(serverHello(0x0304), serverHello(0x0301)),
  // HTTP/2 preface + random frames: exercises the frame parser and HPACK decoder.
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([prefixes[5]!, Buffer.from(b)])),
);
const endpoint = fc.record({
  ip: fc.oneof(fc.ipV4(), fc.constantFrom('::1', 'fd00::7', '2001:db8::1')),
  port: fc.integer({ min: 1, max: 65535 }),
});
const conversation = fc
  .record({
    a: endpoint,
    b: endpoint,
    handshake: fc.boolean(),
    close: fc.boolean(),
    sends: fc.array(
      fc.record({
        from: fc.constantFrom('c' as const, 's' as const),
        data: payload,
        mss: fc.integer({ min: 1, max: 1448 }),
      }),
      { maxLength: 5 },
    ),
  })
  .filter((c) => c.a.ip.includes(':') === c.b.ip.includes(':'))
  .map((c) => {
    const t = new TcpConversation(c.a, c.b);
    if (c.handshake) t.handshake();
    for (const s of c.sends) t.send(s.from, s.data, s.mss);
    if (c.close) t.close();
    return t.packets;
  });
const capture = fc
  .record({
    conversations: fc.array(conversation, { minLength: 1, maxLength: 3 }),
    linkType: fc.constantFrom(1, 113, 276, 0, 101),
    ng: fc.boolean(),
    simple: fc.boolean(),
    bigEndian: fc.boolean(),
    nano: fc.boolean(),
    shuffle: fc.boolean(),
  })
  .map((c) => {
    let packets = c.conversations.flat();
    if (c.shuffle) packets = [...packets].reverse(); // reordered capture
    const recs = records(packets, c.linkType).map((r) => ({ ...r, simple: c.simple }));
    return c.ng
      ? pcapngFile([{ interfaces: [{ linkType: c.linkType }], records: recs, bigEndian: c.bigEndian }])
      : pcapFile(recs, { linkType: c.linkType, bigEndian: c.bigEndian, nano: c.nano });
  });

// --- properties ---------------------------------------------------------------------------------

test('well-formed captures with random TCP payloads: every flow is classified, nothing throws', () => {
  fuzz('classify random payloads', 60, capture, (buf) => {
    const a = analyzeCaptureBuffer(buf);
    for (const f of a.flows) assert.ok(CLASSES.has(f.class), `class ${f.class}`);
    const r = classify(buf);
    assert.is(r.code, 0, r.err);
  });
});

test('truncated captures: exit 2 naming the cut (or 0 at a record boundary); --allow-truncated reads what is there', () => {
  fuzz(
    'pcap truncated',
    80,
    capture.chain((buf) => fc.tuple(fc.constant(buf), fc.integer({ min: 0, max: buf.length - 1 }))),
    ([buf, cut]) => {
      const part = buf.subarray(0, cut);
      const r = classify(part);
      zeroOrOneLine(r);
      if (r.code === 2) assert.match(r.err, /truncated|empty|shorter/);
      const tolerant = classify(part, '--allow-truncated');
      zeroOrOneLine(tolerant);
      // Only a cut inside the first bytes (no header to read) is refused then.
      if (tolerant.code === 2) assert.ok(cut < 28, `cut at ${cut}: ${tolerant.err}`);
    },
  );
});

const extremes = [0, 1, 11, 12, 13, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff, 16 * 1024 * 1024 + 1];
test('corrupt captures (bytes and length fields overwritten): exit 0 or 2 with one line', () => {
  fuzz(
    'pcap corrupt',
    120,
    capture.chain((buf) =>
      fc.tuple(
        fc.constant(buf),
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: buf.length - 1 }),
            value: fc.oneof(
              fc.integer({ min: 0, max: 255 }),
              fc.constantFrom(...extremes).map((v) => -v - 1),
            ),
          }),
          { minLength: 1, maxLength: 8 },
        ),
      ),
    ),
    ([buf, edits]) => {
      const b = Buffer.from(buf);
      for (const e of edits) {
        // A negative value means: write the 32-bit extreme -value-1 (both byte orders are read).
        if (e.value < 0 && e.at + 4 <= b.length) b.writeUInt32LE(-e.value - 1, e.at);
        else if (e.value >= 0) b[e.at] = e.value;
      }
      readerContract(b, true);
      zeroOrOneLine(classify(b));
      zeroOrOneLine(classify(b, '--allow-truncated'));
    },
  );
});

const magics = [
  Buffer.from('d4c3b2a1', 'hex'),
  Buffer.from('a1b2c3d4', 'hex'),
  Buffer.from('4d3cb2a1', 'hex'),
  Buffer.from('0a0d0d0a', 'hex'),
  Buffer.from('1f8b', 'hex'),
  Buffer.alloc(0),
];
test('random bytes (with and without a capture magic): exit 0 or 2 with one line', () => {
  fuzz(
    'pcap random bytes',
    150,
    fc.tuple(fc.constantFrom(...magics), fc.uint8Array({ maxLength: 2000 })),
    ([magic, rest]) => {
      const b = Buffer.concat([magic, Buffer.from(rest)]);
      readerContract(b, true);
      zeroOrOneLine(classify(b));
    },
  );
});

test('a simple packet block too short to hold its length is corrupt (it gave a packet of -4 bytes)', () => {
  const base = pcapngFile([{ interfaces: [{ linkType: 1 }], records: [] }]);
  const spb = Buffer.alloc(12);
  spb.writeUInt32LE(3, 0);
  spb.writeUInt32LE(12, 4);
  spb.writeUInt32LE(12, 8);
  const r = classify(Buffer.concat([base, spb]));
  zeroOrOneLine(r);
  assert.match(r.err, /corrupt pcapng: short simple packet block at byte \d+/);
});

test('large claims and large files: refused or read in bounded memory, exit 2 or 0', () => {
  // A record that claims more than any packet, and a pcapng block that claims 4 GiB.
  const big = pcapFile([{ ts: 1, data: Buffer.alloc(60) }]);
  big.writeUInt32LE(16 * 1024 * 1024 + 1, 24 + 8);
  const bigR = classify(big);
  zeroOrOneLine(bigR);
  assert.match(bigR.err, /corrupt: packet record 1 at byte 24 claims 16777217 bytes/);
  const ng = pcapngFile([{ interfaces: [{ linkType: 1 }], records: [{ ts: 1, data: Buffer.alloc(60) }] }]);
  ng.writeUInt32LE(0xfffffffc, 28 + 4); // the block after the section header
  const ngR = classify(ng);
  zeroOrOneLine(ngR);
  assert.match(ngR.err, /corrupt pcapng: block at byte 28 has length 4294967292/);

  // 256 MiB that is not a capture (sparse: nothing is written): refused from its first bytes.
  const huge = join(dir, 'huge.bin');
  const fd = openSync(huge, 'w');
  writeSync(fd, Buffer.from('not a capture'));
  ftruncateSync(fd, 256 * 1024 * 1024);
  closeSync(fd);
  const heap0 = process.memoryUsage().rss;
  let out = '';
  let err = '';
  const code = classifyCli([huge], { out: (s) => (out += s), err: (s) => (err += s) });
  assert.is(code, 2);
  assert.match(err, 'not a pcap or pcapng file');
  // An 8 MiB capture of empty records streams through one buffer: memory does not follow the size.
  const long = join(dir, 'long.pcap');
  const fd2 = openSync(long, 'w');
  writeSync(fd2, pcapFile([], { linkType: 1 }));
  ftruncateSync(fd2, 24 + 8 * 1024 * 1024);
  closeSync(fd2);
  const r = classifyCli([long, '--json'], { out: (s) => (out = s), err: (s) => (err += s) });
  assert.is(r, 0, err);
  assert.is(JSON.parse(out).capture.packets, (8 * 1024 * 1024) / 16);
  const grew = process.memoryUsage().rss - heap0;
  assert.ok(grew < 200 * 1024 * 1024, `rss grew ${Math.round(grew / 1048576)} MiB reading 264 MiB of files`);
});

test.run();
