// TCP reassembly on crafted captures: reordering, retransmission, overlap, flows that began before
// the capture, sequence-number wraparound, bounded memory, lost segments and port reuse.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyzeCaptureBuffer } from '../../scripts/lib/capture/analyze.ts';
import {
  clientHello,
  ipTcp,
  pcapFile,
  records,
  serverHello,
  TcpConversation,
  tlsRecord,
} from '../../scripts/lib/capture/craft.ts';
import { decodeTcp, newSegment, newStats } from '../../scripts/lib/capture/packet.ts';
import { readCaptureBuffer } from '../../scripts/lib/capture/pcap.ts';
import { FlowTable } from '../../scripts/lib/capture/tcp.ts';

const C = { ip: '10.1.0.5', port: 51000 };
const S = { ip: '10.1.0.9', port: 6666 };
const REQUEST = Buffer.from(
  'POST /api/namespaces/demo/tree/wf?op=execute HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{"input":"reassembly test"}',
);
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"ok":true}');

/** Deterministic shuffle (the test must be the same every run). */
function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('reordered, retransmitted and overlapping segments reassemble into the original stream', () => {
  const conv = new TcpConversation(C, S).handshake();
  const start = conv.packets.length;
  conv.send('c', REQUEST, 16); // many small segments
  const dataPkts = conv.packets.splice(start);
  conv.send('s', RESPONSE).close();
  // An overlapping segment with DIFFERENT bytes over offsets 8..40: the first copy must win.
  const overlap = ipTcp({
    src: C,
    dst: S,
    seq: 1000 + 8,
    ack: 5000,
    flags: 0x18,
    payload: Buffer.alloc(32, 0x5a),
  });
  const hostile = [...shuffle(dataPkts, 42), dataPkts[2]!, dataPkts[5]!, dataPkts[0]!, overlap];
  assert.not.equal(hostile.slice(0, dataPkts.length), dataPkts, 'the segments really are out of order');
  const pkts = [...conv.packets.slice(0, 3), ...hostile, ...conv.packets.slice(3)];
  const a = analyzeCaptureBuffer(pcapFile(records(pkts)));
  assert.is(a.flows.length, 1);
  const f = a.flows[0]!;
  assert.is(f.class, 'http1');
  assert.match(f.detail ?? '', 'HTTP/1 POST /api/namespaces/demo/tree/wf?…; status 200');
  assert.is(f.bytesClientToServer, REQUEST.length, 'bytes counted once, from sequence numbers');
  assert.is(f.bytesServerToClient, RESPONSE.length);
  assert.is(f.retransmittedBytes, 16 * 3 + 32);
  assert.is(f.incomplete, undefined);
  // The kept bytes are exactly the request: check through the flow table directly.
  const table = new FlowTable();
  const seg = newSegment();
  readCaptureBuffer(pcapFile(records(pkts)), (p) => {
    if (decodeTcp(p, seg, newStats())) table.add(seg, p.ts);
  });
  const flow = table.flows()[0]!;
  assert.ok(flow.dirs[0].prefix().equals(REQUEST), 'first copy wins over the overlapping rewrite');
});

test('a flow that began before the capture: no SYN, roles from the port, marked midstream', () => {
  // TLS application data; the capture starts in the middle of a record.
  const records23 = Buffer.concat(
    Array.from({ length: 6 }, (_, i) => tlsRecord(23, Buffer.alloc(700, i + 1))),
  );
  const conv = new TcpConversation({ ip: '10.244.0.7', port: 41234 }, { ip: '10.244.0.9', port: 7777 })
    .handshake()
    .send('c', records23, 500)
    .send('s', records23, 500);
  const pkts = conv.packets.slice(3).filter((_, i) => i !== 0 && i !== 9); // drop the first segment of each side
  const a = analyzeCaptureBuffer(pcapFile(records(pkts)));
  const f = a.flows[0]!;
  assert.is(f.class, 'tls');
  assert.is(f.midstream, true);
  assert.is(f.roleBasis, 'port');
  assert.is(f.server, '10.244.0.9:7777');
  assert.is(f.plaintextBytes, 0);
  assert.match(f.detail ?? '', 'handshake not captured');
  assert.match(f.detail ?? '', 'start of the connection not captured');
});

test('no SYN but a ClientHello: roles from the content even against the port heuristic', () => {
  // The server listens on a HIGHER port than the client's: the port heuristic alone would be wrong.
  const conv = new TcpConversation({ ip: '10.0.0.1', port: 3000 }, { ip: '10.0.0.2', port: 50443 })
    .handshake()
    .send('c', clientHello({ sni: 'api.test' }))
    .send('s', serverHello());
  const pkts = conv.packets.slice(3).reverse(); // the server's packet first
  const f = analyzeCaptureBuffer(pcapFile(records(pkts))).flows[0]!;
  assert.is(f.roleBasis, 'content');
  assert.is(f.midstream, true);
  assert.is(f.client, '10.0.0.1:3000');
  assert.is(f.server, '10.0.0.2:50443');
  assert.is(f.class, 'tls');
  assert.is(f.sni, 'api.test');
});

test('no SYN: an earlier segment arriving after a later one re-bases the stream', () => {
  const conv = new TcpConversation(C, { ip: S.ip, port: 8080 }).handshake().send('c', REQUEST, 40);
  const data = conv.packets.slice(3);
  const pkts = [data[1]!, data[2]!, data[0]!, ...data.slice(3)];
  const f = analyzeCaptureBuffer(pcapFile(records(pkts))).flows[0]!;
  assert.is(f.class, 'http1');
  assert.is(f.bytesClientToServer, REQUEST.length);
  assert.match(f.detail ?? '', 'POST /api/namespaces');
  assert.is(f.incomplete, undefined);
});

test('sequence numbers that wrap around 2^32 reassemble', () => {
  const conv = new TcpConversation(C, { ip: S.ip, port: 8080 }, { client: 0xffffff00, server: 0xfffffff0 })
    .handshake()
    .send('c', REQUEST, 50)
    .send('s', RESPONSE, 10)
    .close();
  const f = analyzeCaptureBuffer(pcapFile(records(conv.packets))).flows[0]!;
  assert.is(f.class, 'http1');
  assert.is(f.bytesClientToServer, REQUEST.length);
  assert.is(f.bytesServerToClient, RESPONSE.length);
  assert.equal(f.httpStatuses, [200]);
});

test('memory is bounded: only the first retainBytes are kept, counters stay exact', () => {
  const big = Buffer.concat([REQUEST, Buffer.alloc(1024 * 1024, 0x41)]);
  const conv = new TcpConversation(C, { ip: S.ip, port: 8080 }).handshake().send('c', big, 32768);
  const table = new FlowTable({ retainBytes: 4096 });
  const seg = newSegment();
  readCaptureBuffer(pcapFile(records(conv.packets)), (p) => {
    if (decodeTcp(p, seg, newStats())) table.add(seg, p.ts);
  });
  const d = table.flows()[0]!.dirs[0];
  assert.is(d.prefix().length, 4096);
  assert.ok(d.prefix().equals(big.subarray(0, 4096)));
  assert.is(d.extent, big.length);
  const f = analyzeCaptureBuffer(pcapFile(records(conv.packets)), { retainBytes: 4096 }).flows[0]!;
  assert.is(f.bytesClientToServer, big.length);
  assert.is(f.class, 'http1');
  assert.is(f.plaintextBytes, big.length, 'plaintext bytes count the whole flow, not the kept prefix');
});

test('a lost segment leaves a hole: reported as incomplete, classified from what was kept', () => {
  const conv = new TcpConversation(C, { ip: S.ip, port: 8080 }).handshake().send('c', REQUEST, 30).close();
  const pkts = conv.packets.filter((_, i) => i !== 5);
  const f = analyzeCaptureBuffer(pcapFile(records(pkts))).flows[0]!;
  assert.is(f.class, 'http1');
  assert.is(f.bytesClientToServer, REQUEST.length);
  assert.match(f.incomplete ?? '', 'client->server: 30 bytes missing from the capture');
});

test('the same 4-tuple reused after a close is a new flow', () => {
  const one = new TcpConversation(C, { ip: S.ip, port: 8080 }).handshake().send('c', REQUEST).close();
  const two = new TcpConversation(C, { ip: S.ip, port: 8080 }, { client: 90000, server: 190000 })
    .handshake()
    .send('c', Buffer.concat([clientHello(), Buffer.alloc(0)]))
    .send('s', serverHello(0x0303))
    .close();
  const a = analyzeCaptureBuffer(pcapFile(records([...one.packets, ...two.packets])));
  assert.equal(
    a.flows.map((f) => f.class),
    ['http1', 'tls'],
  );
  assert.is(a.flows[1]!.tlsVersion, 'TLS 1.2');
});

test.run();
