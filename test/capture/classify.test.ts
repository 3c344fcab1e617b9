// The content classifier on crafted streams: every class must fire on its own content and not on
// the others' (a detector is proven by a case where it must fire, and one where it must not).
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyzeCaptureBuffer } from '../../scripts/lib/capture/analyze.ts';
import { type Classification, classifyFlow, type StreamView } from '../../scripts/lib/capture/classify.ts';
import {
  clientHello,
  pcapFile,
  records,
  serverHello,
  TcpConversation,
  tlsRecord,
} from '../../scripts/lib/capture/craft.ts';
import { H2_PREFACE } from '../../scripts/lib/capture/h2.ts';
import { HpackDecoder, huffmanDecode } from '../../scripts/lib/capture/hpack.ts';

const v = (data: Buffer, fromStart = true): StreamView => ({
  data,
  total: data.length,
  fromStart,
  whole: true,
});
const classify = (c: Buffer, s: Buffer, midstream = false): Classification =>
  classifyFlow(v(c), v(s), midstream);

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK literal header without indexing, literal name, raw (non-Huffman) strings. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x00, name.length]),
    Buffer.from(name),
    Buffer.from([value.length]),
    Buffer.from(value),
  ]);
}

const SETTINGS = frame(4, 0, 0, Buffer.alloc(6));
const grpcMessage = (body: Buffer) =>
  Buffer.concat([Buffer.from([0]), Buffer.from([0, 0, 0, body.length]), body]);

test('TLS 1.3: ClientHello SNI/ALPN/versions, ServerHello selected version, application data', () => {
  const c = Buffer.concat([
    clientHello({ sni: 'direktiv-flow-hl.default', alpn: ['h2'] }),
    tlsRecord(20, Buffer.from([1])),
    tlsRecord(23, Buffer.alloc(53)), // Finished
    tlsRecord(23, Buffer.alloc(200)), // data
  ]);
  const s = Buffer.concat([
    serverHello(0x0304),
    tlsRecord(20, Buffer.from([1])),
    tlsRecord(23, Buffer.alloc(900)),
  ]);
  const r = classify(c, s);
  assert.is(r.class, 'tls');
  assert.is(r.tlsVersion, 'TLS 1.3');
  assert.is(r.sni, 'direktiv-flow-hl.default');
  assert.equal(r.alpn, ['h2']);
  assert.is(r.applicationData, true);
  assert.is(r.plaintextBytes, 0);
  // Only the Finished: no application data yet.
  const hsOnly = classify(c.subarray(0, c.length - 205), s);
  assert.is(hsOnly.applicationData, false);
});

test('TLS 1.2 (no supported_versions), ClientHello without an answer, and a cleartext alert', () => {
  const r = classify(clientHello({ versions: [] }), serverHello(0x0303));
  assert.is(r.tlsVersion, 'TLS 1.2');
  assert.match(
    r.detail,
    'ClientHello offered up to TLS 1.2 (no supported_versions); ServerHello selected TLS 1.2',
  );
  const lone = classify(clientHello({ sni: 'x.test' }), Buffer.alloc(0));
  assert.is(lone.class, 'tls');
  assert.is(lone.tlsVersion, undefined);
  assert.match(
    lone.detail,
    'ClientHello offered TLS 1.3, TLS 1.2 (legacy_version TLS 1.2); no ServerHello captured',
  );
  const alert = classify(clientHello(), tlsRecord(21, Buffer.from([2, 40])));
  assert.is(alert.class, 'tls');
  assert.match(alert.detail, 'server alert fatal handshake_failure');
});

test('a ClientHello answered in clear is NOT TLS: the plaintext answer decides', () => {
  const answer = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
  const r = classify(clientHello(), answer);
  assert.is(r.class, 'http1');
  assert.is(r.plaintextBytes, answer.length);
  assert.match(r.detail, 'the client sent a TLS ClientHello; the server answered with non-TLS bytes');
});

test('TLS-looking first bytes followed by garbage are not TLS', () => {
  const fake = Buffer.concat([
    Buffer.from([0x16, 3, 1, 0, 4]),
    Buffer.from('abcd'),
    Buffer.from('this is not a record'),
  ]);
  const r = classify(fake, Buffer.alloc(0));
  assert.is.not(r.class, 'tls');
});

test('Postgres: SSLRequest refused then startup in clear is plaintext; accepted then TLS is TLS', () => {
  const ssl = Buffer.from('0000000804d2162f', 'hex');
  const startup = Buffer.concat([
    Buffer.alloc(4),
    Buffer.from('00030000', 'hex'),
    Buffer.from('user\0direktiv\0database\0direktiv\0\0'),
  ]);
  startup.writeUInt32BE(startup.length, 0);
  const refused = classify(Buffer.concat([ssl, startup]), Buffer.from('NR\0\0\0\x08\0\0\0\0', 'latin1'));
  assert.is(refused.class, 'postgres');
  assert.is(refused.plaintextBytes, 8 + startup.length + 10);
  assert.match(
    refused.detail,
    "SSLRequest refused ('N'), then StartupMessage in clear (user=direktiv, database=direktiv)",
  );
  const accepted = classify(
    Buffer.concat([ssl, clientHello()]),
    Buffer.concat([Buffer.from('S'), serverHello()]),
  );
  assert.is(accepted.class, 'tls');
  assert.is(accepted.tlsVersion, 'TLS 1.3');
  assert.match(accepted.detail, "Postgres SSLRequest accepted ('S'), then ClientHello offered");
  assert.match(accepted.detail, 'ServerHello selected TLS 1.3');
  const plain = classify(startup, Buffer.from('R\0\0\0\x08\0\0\0\0', 'latin1'));
  assert.is(plain.class, 'postgres');
  assert.match(plain.detail, 'StartupMessage in clear');
  // Mid-stream: simple-query and data-row messages without the startup.
  const q = Buffer.concat([
    Buffer.from('Q\0\0\0\x0eSELECT 1;\0', 'latin1'),
    Buffer.from('Q\0\0\0\x0eSELECT 2;\0', 'latin1'),
  ]);
  const mid = classifyFlow(v(q, false), v(Buffer.alloc(0), false), true);
  assert.is(mid.class, 'postgres');
});

test('HTTP/1: redirect-only answers are recognised, and only when nothing else was served', () => {
  const req = Buffer.from(
    'GET / HTTP/1.1\r\nHost: direktiv.test\r\n\r\nGET /ui HTTP/1.1\r\nHost: direktiv.test\r\n\r\n',
  );
  const redirect =
    'HTTP/1.1 301 Moved Permanently\r\nLocation: https://direktiv.test/\r\nContent-Length: 0\r\n\r\n';
  const two = classify(req, Buffer.from(redirect + redirect.replace('301', '308')));
  assert.is(two.class, 'http1');
  assert.equal(two.httpStatuses, [301, 308]);
  assert.is(two.httpsRedirectOnly, true);
  const content = classify(
    req,
    Buffer.from(`${redirect}HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`),
  );
  assert.equal(content.httpStatuses, [301, 200]);
  assert.is(content.httpsRedirectOnly, false);
  const toHttp = classify(req, Buffer.from(redirect.replace('https://', 'http://')));
  assert.is(toHttp.httpsRedirectOnly, false);
  // A redirect whose body runs past the kept bytes is not provably redirect-only.
  const cut: StreamView = {
    data: Buffer.from(redirect),
    total: redirect.length + 500,
    fromStart: true,
    whole: false,
  };
  assert.is(classifyFlow(v(req), cut).httpsRedirectOnly, false);
});

test('h2c: gRPC by content-type, by framing + :path, as a hint when HPACK cannot be read; plain h2c otherwise', () => {
  const headers = Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http
    literal(':path', '/direktiv_flow.Flow/Resolve'),
    literal('content-type', 'application/grpc'),
    literal('te', 'trailers'),
  ]);
  const client = Buffer.concat([
    H2_PREFACE,
    SETTINGS,
    frame(1, 0x4, 1, headers),
    frame(0, 0x1, 1, grpcMessage(Buffer.from([0x0a, 0x02, 0x68, 0x69]))),
  ]);
  const grpc = classify(client, SETTINGS);
  assert.is(grpc.class, 'grpc-clear');
  assert.match(
    grpc.detail,
    'content-type application/grpc (HPACK-decoded); :path /direktiv_flow.Flow/Resolve',
  );
  const noCt = Buffer.concat([
    H2_PREFACE,
    SETTINGS,
    frame(1, 0x4, 1, Buffer.concat([Buffer.from([0x83, 0x86]), literal(':path', '/a.B/C')])),
    frame(0, 0x1, 1, grpcMessage(Buffer.from('x'))),
  ]);
  const framed = classify(noCt, SETTINGS);
  assert.is(framed.class, 'grpc-clear');
  assert.match(framed.detail, 'gRPC length-prefixed DATA frames and :path /a.B/C');
  // Mid-stream: the header block refers to a dynamic-table entry we never saw.
  const mid = Buffer.concat([
    frame(1, 0x4, 21, Buffer.from([0xbe])),
    frame(0, 0x1, 21, grpcMessage(Buffer.from('hello'))),
    frame(8, 0, 0, Buffer.from([0, 0, 0, 10])),
  ]);
  const hint = classifyFlow(v(mid), v(Buffer.alloc(0)), true);
  assert.is(hint.class, 'grpc-clear');
  assert.match(
    hint.detail,
    'HINT ONLY: gRPC length-prefixed DATA frames, headers not decodable (dynamic table entry 62 unknown',
  );
  const web = Buffer.concat([H2_PREFACE, SETTINGS, frame(1, 0x5, 1, Buffer.from([0x82, 0x86, 0x84]))]);
  const h2 = classify(web, SETTINGS);
  assert.is(h2.class, 'h2c');
  assert.match(h2.detail, ':path /');
});

test('HPACK: RFC 7541 C.4 Huffman vectors decode; bad padding and EOS are errors', () => {
  assert.is(huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex'), 0, 12), 'www.example.com');
  assert.is(huffmanDecode(Buffer.from('a8eb10649cbf', 'hex'), 0, 6), 'no-cache');
  assert.is(huffmanDecode(Buffer.from('25a849e95bb8e8b4bf', 'hex'), 0, 9), 'custom-value');
  assert.throws(() => huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f4fe', 'hex'), 0, 12), /padding/);
  assert.throws(() => huffmanDecode(Buffer.from('ffffffff', 'hex'), 0, 4), /EOS|padding/);
  const d = new HpackDecoder();
  const blocks = ['828684418cf1e3c2e5f23a6ba0ab90f4ff', '828684be5886a8eb10649cbf'];
  const got = blocks.map((h) => {
    const b = Buffer.from(h, 'hex');
    return d.decode(b, 0, b.length).headers;
  });
  assert.equal(got[1], [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ]);
});

test('unknown content: printable text vs binary, and empty flows', () => {
  const redis = classify(Buffer.from('*1\r\n$4\r\nPING\r\n'), Buffer.from('+PONG\r\n'));
  assert.is(redis.class, 'plaintext-unknown');
  assert.is(redis.plaintextBytes, 21);
  const noise = randomBytes(4000);
  const bin = classify(noise, randomBytes(2000));
  assert.is(bin.class, 'binary-unknown');
  assert.is(bin.plaintextBytes, 0);
  assert.match(bin.detail, 'high entropy');
  const zeros = classify(Buffer.from([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]), Buffer.alloc(0));
  assert.is(zeros.class, 'binary-unknown');
  assert.match(zeros.detail, 'low entropy');
  assert.is(classify(Buffer.alloc(0), Buffer.alloc(0)).class, 'empty');
  // A capture with only a handshake and FINs: the whole flow is 'empty'.
  const conv = new TcpConversation({ ip: '10.0.0.1', port: 5000 }, { ip: '10.0.0.2', port: 5555 })
    .handshake()
    .close();
  const f = analyzeCaptureBuffer(pcapFile(records(conv.packets))).flows[0]!;
  assert.is(f.class, 'empty');
  assert.is(f.plaintextBytes, 0);
});

test('random bytes are never taken for TLS, HTTP/2 or Postgres, even mid-stream', () => {
  for (let i = 0; i < 200; i++) {
    const r = classifyFlow(v(randomBytes(1500), false), v(randomBytes(1500), false), true);
    assert.is(r.class, 'binary-unknown', `sample ${i}: ${r.class} ${r.detail}`);
  }
});

test.run();
