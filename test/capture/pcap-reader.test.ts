// The capture reader on crafted files: every supported format, byte order, timestamp resolution
// and link type; IPv6 extension headers; and the errors for truncated, corrupt and foreign files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyzeCaptureBuffer, analyzeCaptureFile } from '../../scripts/lib/capture/analyze.ts';
import {
  frame,
  ipTcp,
  pcapFile,
  pcapngFile,
  records,
  TcpConversation,
} from '../../scripts/lib/capture/craft.ts';
import { decodeTcp, newSegment, newStats } from '../../scripts/lib/capture/packet.ts';
import {
  CaptureFormatError,
  type PacketRef,
  readCaptureBuffer,
  readCaptureFile,
} from '../../scripts/lib/capture/pcap.ts';

const REQUEST = Buffer.from('GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n');
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');

function httpConversation(client = '10.0.0.1', server = '10.0.0.2'): Buffer[] {
  return new TcpConversation({ ip: client, port: 40000 }, { ip: server, port: 8080 })
    .handshake()
    .send('c', REQUEST)
    .send('s', RESPONSE)
    .close().packets;
}

function expectOneHttpFlow(file: Buffer, label: string): void {
  const a = analyzeCaptureBuffer(file);
  assert.is(a.flows.length, 1, `${label}: one flow`);
  const f = a.flows[0]!;
  assert.is(f.class, 'http1', `${label}: class`);
  assert.is(f.bytesClientToServer, REQUEST.length, `${label}: client bytes`);
  assert.is(f.bytesServerToClient, RESPONSE.length, `${label}: server bytes`);
  assert.is(f.serverPort, 8080, `${label}: server port`);
  assert.is(f.roleBasis, 'syn');
}

function collect(file: Buffer): PacketRef[] {
  const out: PacketRef[] = [];
  readCaptureBuffer(file, (p) =>
    out.push({ ...p, buf: Buffer.from(p.buf.subarray(p.offset, p.offset + p.capLen)), offset: 0 }),
  );
  return out;
}

test('classic pcap: both byte orders, micro- and nanosecond timestamps', () => {
  const packets = httpConversation();
  for (const bigEndian of [false, true]) {
    for (const nano of [false, true]) {
      const recs = records(packets, 1, 1_700_000_000.123456);
      const file = pcapFile(recs, { bigEndian, nano });
      const label = `${bigEndian ? 'BE' : 'LE'} ${nano ? 'ns' : 'us'}`;
      expectOneHttpFlow(file, label);
      const got = collect(file);
      assert.is(got.length, packets.length, label);
      assert.ok(Math.abs(got[0]!.ts - 1_700_000_000.123456) < 2e-6, `${label}: timestamp ${got[0]!.ts}`);
      assert.is(got[3]!.index, 4);
      const info = readCaptureBuffer(file, () => {});
      assert.is(info.byteOrder, bigEndian ? 'big-endian' : 'little-endian');
      assert.equal(info.linkTypes, [1]);
    }
  }
});

test('link types: Ethernet with VLAN tag, Linux cooked v1 and v2, BSD loopback, raw IPv4/IPv6', () => {
  const v4 = httpConversation();
  const v6 = httpConversation('fd00::1', 'fd00::2');
  expectOneHttpFlow(pcapFile(v4.map((p, i) => ({ ts: i, data: frame(1, p, { vlan: 42 }) }))), 'vlan');
  for (const lt of [113, 276, 0, 101]) {
    expectOneHttpFlow(pcapFile(records(v4, lt), { linkType: lt }), `link ${lt} v4`);
    expectOneHttpFlow(pcapFile(records(v6, lt), { linkType: lt }), `link ${lt} v6`);
  }
  expectOneHttpFlow(pcapFile(records(v4, 228), { linkType: 228 }), 'raw ipv4');
  expectOneHttpFlow(pcapFile(records(v6, 229), { linkType: 229 }), 'raw ipv6');
  const six = analyzeCaptureBuffer(pcapFile(records(v6, 229), { linkType: 229 })).flows[0]!;
  assert.is(six.client, '[fd00::1]:40000');
  assert.is(six.server, '[fd00::2]:8080');
});

test('an unsupported link type is counted and reported, not mistaken for data', () => {
  const a = analyzeCaptureBuffer(pcapFile(records(httpConversation(), 101), { linkType: 147 }));
  assert.is(a.flows.length, 0);
  assert.is(a.decode.unsupportedLinkTypes[147], 8);
  assert.match(a.warnings.join('\n'), '8 packets of unsupported link type 147 skipped');
});

test('Ethernet padding of short frames is not payload', () => {
  const ack = ipTcp({
    src: { ip: '10.0.0.1', port: 1 },
    dst: { ip: '10.0.0.2', port: 2 },
    seq: 1,
    ack: 1,
    flags: 0x10,
  });
  const f = frame(1, ack);
  assert.is(f.length, 60, 'the frame was padded');
  const seg = newSegment();
  const ok = decodeTcp(
    { buf: f, offset: 0, capLen: f.length, origLen: f.length, linkType: 1, ifIndex: 0, ts: 0, index: 1 },
    seg,
    newStats(),
  );
  assert.ok(ok);
  assert.is(seg.payloadLen, 0);
  assert.is(seg.payloadCapLen, 0);
});

test('IPv6 extension headers are walked; fragments are counted and skipped', () => {
  const hopByHop = { type: 0, body: Buffer.from([0, 0, 1, 4, 0, 0, 0, 0]) }; // PadN
  const destOpts = { type: 60, body: Buffer.from([0, 1, 1, 12, ...Array(12).fill(0)]) }; // 16 bytes
  const atomicFrag = { type: 44, body: Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]) }; // offset 0, M=0
  const src = { ip: 'fd00::a', port: 45000 };
  const dst = { ip: 'fd00::b', port: 5432 };
  const payload = Buffer.from('hello over ipv6 with options\n');
  const withExt = ipTcp({
    src,
    dst,
    seq: 100,
    ack: 1,
    flags: 0x18,
    payload,
    ext6: [hopByHop, destOpts, atomicFrag],
  });
  const realFrag = ipTcp({
    src,
    dst,
    seq: 200,
    ack: 1,
    flags: 0x18,
    payload,
    ext6: [{ type: 44, body: Buffer.from([0, 0, 0, 0x09, 0, 0, 0, 2]) }], // offset 1 (8 bytes), M=1
  });
  const a = analyzeCaptureBuffer(pcapFile(records([withExt, realFrag], 229), { linkType: 229 }));
  assert.is(a.decode.tcp, 1);
  assert.is(a.decode.fragments, 1);
  assert.match(a.warnings.join('\n'), '1 IP fragments skipped');
  assert.is(a.flows.length, 1);
  assert.is(a.flows[0]!.bytesClientToServer, payload.length);
  assert.is(a.flows[0]!.class, 'plaintext-unknown');
});

test('pcapng: two interfaces with their own link types and resolutions, SPB, a second big-endian section', () => {
  const v4 = httpConversation();
  const v6 = httpConversation('fd00::1', 'fd00::2');
  const file = pcapngFile([
    {
      interfaces: [{ linkType: 1 }, { linkType: 229, tsresol: 9 }],
      records: [
        ...v4.map((p, i) => ({ ts: 1_700_000_000.5 + i / 1000, data: frame(1, p), ifIndex: 0 })),
        ...v6.map((p, i) => ({ ts: 1_700_000_001.25 + i / 1000, data: p, ifIndex: 1 })),
      ],
    },
    {
      bigEndian: true,
      interfaces: [{ linkType: 113 }],
      records: httpConversation('10.9.9.1', '10.9.9.2').map((p) => ({
        ts: 0,
        data: frame(113, p),
        simple: true,
      })),
    },
  ]);
  const got = collect(file);
  assert.is(got.length, 24);
  assert.is(got[0]!.linkType, 1);
  assert.is(got[8]!.linkType, 229);
  assert.is(got[8]!.ifIndex, 1);
  assert.ok(Math.abs(got[8]!.ts - 1_700_000_001.25) < 1e-6, `ns timestamp ${got[8]!.ts}`);
  assert.is(got[16]!.linkType, 113, 'SPB in the second section uses its interface 0');
  const a = analyzeCaptureBuffer(file);
  assert.is(a.capture.format, 'pcapng');
  assert.equal(a.capture.linkTypes, [1, 229, 113]);
  assert.equal(
    a.flows.map((f) => [f.client, f.class]),
    [
      ['10.0.0.1:40000', 'http1'],
      ['[fd00::1]:40000', 'http1'],
      ['10.9.9.1:40000', 'http1'],
    ],
  );
});

test('streaming through a tiny read buffer gives the same result as reading in memory', () => {
  const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n');
  const big = new TcpConversation({ ip: '10.0.0.1', port: 1234 }, { ip: '10.0.0.2', port: 80 })
    .handshake()
    .send('c', REQUEST)
    .send('s', Buffer.concat([head, Buffer.alloc(20000, 0x61)]), 9000)
    .close().packets;
  const dir = mkdtempSync(join(tmpdir(), 'pcap-reader-'));
  try {
    for (const [name, file] of [
      ['a.pcap', pcapFile(records(big))],
      ['b.pcapng', pcapngFile([{ interfaces: [{ linkType: 1 }], records: records(big) }])],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, file);
      const mem = analyzeCaptureBuffer(file);
      // 64-byte chunks: every record spans chunk ends, and 9000-byte records force the buffer to grow.
      const streamed = analyzeCaptureFile(path, { chunkSize: 64 });
      assert.equal(streamed.flows, mem.flows, name);
      assert.is(streamed.flows[0]!.bytesServerToClient, 20000 + head.length);
      assert.is(streamed.capture.bytes, file.length);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function formatError(fn: () => unknown): CaptureFormatError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, CaptureFormatError);
    return e as CaptureFormatError;
  }
  throw new Error('expected a CaptureFormatError, nothing was thrown');
}

test('truncated files fail with the byte offset; tolerateTruncatedTail keeps the packets before', () => {
  const file = pcapFile(records(httpConversation()));
  const cut = file.subarray(0, file.length - 10);
  const e = formatError(() => readCaptureBuffer(cut, () => {}));
  assert.match(e.message, /^truncated: packet record 8 at byte \d+ needs \d+ bytes, only \d+ remain$/);
  let n = 0;
  const info = readCaptureBuffer(cut, () => n++, { tolerateTruncatedTail: true });
  assert.is(n, 7);
  assert.match(info.truncatedTail ?? '', 'truncated: packet record 8');
  const a = analyzeCaptureBuffer(cut, { tolerateTruncatedTail: true });
  assert.match(a.warnings.join('\n'), 'capture truncated');
  // A cut inside a record header, and inside the file header.
  assert.match(
    formatError(() => readCaptureBuffer(file.subarray(0, 24 + 5), () => {})).message,
    'record header 1',
  );
  assert.match(
    formatError(() => readCaptureBuffer(file.subarray(0, 10), () => {})).message,
    'file header needs 24 bytes',
  );
  const ng = pcapngFile([{ interfaces: [{ linkType: 1 }], records: records(httpConversation()) }]);
  assert.match(
    formatError(() => readCaptureBuffer(ng.subarray(0, ng.length - 3), () => {})).message,
    /^truncated: pcapng block/,
  );
});

test('garbage and foreign files are refused with the reason', () => {
  assert.match(formatError(() => readCaptureBuffer(Buffer.alloc(0), () => {})).message, 'the file is empty');
  assert.match(
    formatError(() => readCaptureBuffer(Buffer.from('hello, this is a text file\n'), () => {})).message,
    'not a pcap or pcapng file (starts with "hello, t")',
  );
  assert.match(
    formatError(() => readCaptureBuffer(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]), () => {})).message,
    'gzip',
  );
  let seed = 7;
  const noise = Buffer.alloc(4096);
  for (let i = 0; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    noise[i] = seed & 0xff;
  }
  assert.match(formatError(() => readCaptureBuffer(noise, () => {})).message, 'not a pcap or pcapng file');
  // A valid header followed by noise: the first record claims an absurd length.
  const header = pcapFile([]);
  const bad = Buffer.concat([header, Buffer.from('ffffffffffffffffffffffff00000000', 'hex')]);
  assert.match(
    formatError(() => readCaptureBuffer(bad, () => {})).message,
    /^corrupt: packet record 1 at byte 24 claims/,
  );
  // pcapng whose block trailer disagrees with its header.
  const ng = pcapngFile([{ interfaces: [{ linkType: 1 }], records: records(httpConversation()) }]);
  const broken = Buffer.from(ng);
  broken.writeUInt32LE(999, 28 - 4); // trailer of the first block (SHB is 28 bytes)
  assert.match(
    formatError(() => readCaptureBuffer(broken, () => {})).message,
    'says length 28 at its start and 999 at its end',
  );
  // A packet that names an interface the section never declared.
  const noIface = pcapngFile([{ interfaces: [], records: [] }]);
  const epb = pcapngFile([
    { interfaces: [{ linkType: 1 }], records: [{ ts: 0, data: Buffer.alloc(20), ifIndex: 0 }] },
  ]);
  const orphan = Buffer.concat([noIface, epb.subarray(epb.length - 52)]);
  assert.match(formatError(() => readCaptureBuffer(orphan, () => {})).message, 'names interface 0');
  // A header-only file is valid and empty.
  assert.is(readCaptureBuffer(header, () => {}).packets, 0);
});

test('fs errors surface as they are (missing file)', () => {
  try {
    readCaptureFile('/nonexistent/dir/x.pcap', () => {});
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, 'ENOENT');
  }
});

test.run();
