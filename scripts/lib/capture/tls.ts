// TLS record layer and hello parsing (RFC 8446 / 5246), enough to say "this stream is TLS", which
// version was negotiated, the SNI and ALPN offered, whether a client certificate was asked for or
// sent in clear (TLS 1.2 only: 1.3 encrypts those messages), and whether encrypted records followed.

export const CT_CCS = 20;
export const CT_ALERT = 21;
export const CT_HANDSHAKE = 22;
export const CT_APPDATA = 23;
export const CT_HEARTBEAT = 24;

/** TLSPlaintext.length may not exceed 2^14 (+2048 for TLS 1.2 ciphertext expansion). */
const MAX_RECORD_LEN = 16384 + 2048;

export function tlsVersionName(v: number): string {
  switch (v) {
    case 0x0304:
      return 'TLS 1.3';
    case 0x0303:
      return 'TLS 1.2';
    case 0x0302:
      return 'TLS 1.1';
    case 0x0301:
      return 'TLS 1.0';
    case 0x0300:
      return 'SSL 3.0';
    default:
      return `0x${v.toString(16).padStart(4, '0')}`;
  }
}

/** A plausible TLS record header at `i` (content type, version 3.x, length). */
export function isRecordHeader(b: Buffer, i: number): boolean {
  if (i + 5 > b.length) return false;
  const t = b[i]!;
  return (
    t >= CT_CCS &&
    t <= CT_HEARTBEAT &&
    b[i + 1] === 3 &&
    b[i + 2]! <= 4 &&
    b.readUInt16BE(i + 3) <= MAX_RECORD_LEN
  );
}

export interface RecordWalk {
  /** Complete records walked. */
  records: number;
  /** Records per content type (index = type - 20). */
  byType: [number, number, number, number, number];
  /** Where the walk stopped on a bad header (-1: it reached the end of the data). */
  brokenAt: number;
  /** The last record was cut off by the end of the data (the capture kept a prefix). */
  partialTail: boolean;
  /** Handshake bytes from the records before the first ChangeCipherSpec (the cleartext part). */
  handshake: Buffer;
  /** Handshake message types seen in the cleartext part. */
  handshakeTypes: number[];
  /** Cleartext alerts: [level, description]. */
  alerts: Array<[number, number]>;
  /** Application-data records, with the length of each of the first few. */
  appData: number[];
  ccsSeen: boolean;
}

/** Walks records from `start`; collects the cleartext handshake (bounded to 64 KiB). */
export function walkRecords(b: Buffer, start: number): RecordWalk {
  const w: RecordWalk = {
    records: 0,
    byType: [0, 0, 0, 0, 0],
    brokenAt: -1,
    partialTail: false,
    handshake: Buffer.alloc(0),
    handshakeTypes: [],
    alerts: [],
    appData: [],
    ccsSeen: false,
  };
  const hs: Buffer[] = [];
  let hsLen = 0;
  let i = start;
  while (i < b.length) {
    if (i + 5 > b.length) {
      // A header cut by the end of the kept prefix: fine if what is there is consistent.
      const t = b[i]!;
      if (t < CT_CCS || t > CT_HEARTBEAT || (i + 1 < b.length && b[i + 1] !== 3)) w.brokenAt = i;
      else w.partialTail = true;
      break;
    }
    if (!isRecordHeader(b, i)) {
      w.brokenAt = i;
      break;
    }
    const type = b[i]!;
    const len = b.readUInt16BE(i + 3);
    const body = i + 5;
    if (body + len > b.length) {
      w.partialTail = true;
      if (type === CT_HANDSHAKE && !w.ccsSeen && hsLen < 65536) hs.push(b.subarray(body, b.length));
      break;
    }
    w.records++;
    w.byType[type - CT_CCS]!++;
    if (type === CT_CCS) w.ccsSeen = true;
    else if (type === CT_HANDSHAKE && !w.ccsSeen && hsLen < 65536) {
      hs.push(b.subarray(body, body + len));
      hsLen += len;
    } else if (type === CT_ALERT && !w.ccsSeen && len === 2) {
      w.alerts.push([b[body]!, b[body + 1]!]);
    } else if (type === CT_APPDATA) {
      w.appData.push(len);
    }
    i = body + len;
  }
  w.handshake = hs.length === 1 ? hs[0]! : Buffer.concat(hs);
  // Message types in the cleartext handshake (a message may span records: hence the concatenation).
  for (let p = 0; p + 4 <= w.handshake.length; ) {
    w.handshakeTypes.push(w.handshake[p]!);
    p += 4 + w.handshake.readUIntBE(p + 1, 3);
  }
  return w;
}

export interface ClientHello {
  legacyVersion: number;
  /** supported_versions (GREASE removed), highest first as sent; empty when absent. */
  supportedVersions: number[];
  sni?: string;
  alpn?: string[];
}

export interface ServerHello {
  legacyVersion: number;
  /** The negotiated version: supported_versions when present, else the legacy field. */
  version: number;
  /** ALPN chosen (visible in the ServerHello up to TLS 1.2 only). */
  alpn?: string;
  helloRetryRequest: boolean;
}

const isGrease = (v: number) => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

/** SHA-256("HelloRetryRequest"): a ServerHello with this random is an HRR (RFC 8446 4.1.3). */
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

/** Parses the ClientHello at the start of a cleartext handshake, or null when there is none. */
export function parseClientHello(hs: Buffer): ClientHello | null {
  if (hs.length < 4 || hs[0] !== 1) return null;
  const end = Math.min(hs.length, 4 + hs.readUIntBE(1, 3));
  let p = 4;
  if (p + 35 > end) return null;
  const ch: ClientHello = { legacyVersion: hs.readUInt16BE(p), supportedVersions: [] };
  p += 34;
  p += 1 + hs[p]!; // session id
  if (p + 2 > end) return ch;
  p += 2 + hs.readUInt16BE(p); // cipher suites
  if (p + 1 > end) return ch;
  p += 1 + hs[p]!; // compression methods
  if (p + 2 > end) return ch;
  for (const { type, v, len } of extensions(hs, p, end)) {
    if (type === 0 && len >= 5) {
      // server_name: list length, then (type 0 = host_name, length, name).
      if (hs[v + 2] === 0) {
        const n = hs.readUInt16BE(v + 3);
        if (v + 5 + n <= v + len) ch.sni = hs.toString('latin1', v + 5, v + 5 + n);
      }
    } else if (type === 16 && len >= 2) {
      ch.alpn = readAlpnList(hs, v + 2, v + len);
    } else if (type === 43 && len >= 1) {
      const n = hs[v]!;
      for (let q = v + 1; q + 2 <= v + 1 + n && q + 2 <= v + len; q += 2) {
        const ver = hs.readUInt16BE(q);
        if (!isGrease(ver)) ch.supportedVersions.push(ver);
      }
    }
  }
  return ch;
}

/** The extensions block at `p` (its 2-byte length first): type, value offset and length of each. */
function* extensions(
  hs: Buffer,
  p: number,
  end: number,
): Generator<{ type: number; v: number; len: number }> {
  const extEnd = Math.min(end, p + 2 + hs.readUInt16BE(p));
  for (let q = p + 2; q + 4 <= extEnd; ) {
    const len = hs.readUInt16BE(q + 2);
    const v = q + 4;
    if (v + len > extEnd) return;
    yield { type: hs.readUInt16BE(q), v, len };
    q = v + len;
  }
}

function readAlpnList(b: Buffer, from: number, to: number): string[] {
  const out: string[] = [];
  for (let q = from; q < to; ) {
    const n = b[q]!;
    if (q + 1 + n > to) break;
    out.push(b.toString('latin1', q + 1, q + 1 + n));
    q += 1 + n;
  }
  return out;
}

/** Finds and parses the ServerHello in a cleartext handshake, or null. */
export function parseServerHello(hs: Buffer): ServerHello | null {
  if (hs.length < 4 || hs[0] !== 2) return null;
  const end = Math.min(hs.length, 4 + hs.readUIntBE(1, 3));
  let p = 4;
  if (p + 35 > end) return null;
  const legacy = hs.readUInt16BE(p);
  const sh: ServerHello = {
    legacyVersion: legacy,
    version: legacy,
    helloRetryRequest: hs.subarray(p + 2, p + 34).equals(HRR_RANDOM),
  };
  p += 34;
  p += 1 + hs[p]!; // session id echo
  p += 3; // cipher suite, compression method
  if (p + 2 > end) return sh;
  for (const { type, v, len } of extensions(hs, p, end)) {
    if (type === 43 && len === 2) sh.version = hs.readUInt16BE(v);
    else if (type === 16 && len >= 3) sh.alpn = readAlpnList(hs, v + 2, v + len)[0];
  }
  return sh;
}

/**
 * For a stream whose start was not captured: the first offset (within `maxScan`) where at least
 * `minRecords` consecutive well-formed records begin (or well-formed records run to the end of the
 * data). -1 when there is none. A single header-like 5 bytes in random data is common; a chain is not.
 */
export function findRecordChain(b: Buffer, maxScan: number, minRecords = 2): number {
  const limit = Math.min(b.length - 5, maxScan);
  for (let i = 0; i <= limit; i++) {
    if (!isRecordHeader(b, i)) continue;
    let j = i;
    let n = 0;
    while (j + 5 <= b.length && isRecordHeader(b, j)) {
      const next = j + 5 + b.readUInt16BE(j + 3);
      if (next > b.length) break;
      n++;
      j = next;
    }
    if (n >= minRecords || (n >= 1 && j === b.length)) return i;
  }
  return -1;
}

/** RFC 8446 alert descriptions worth naming in a report. */
export function alertName(d: number): string {
  const names: Record<number, string> = {
    0: 'close_notify',
    10: 'unexpected_message',
    20: 'bad_record_mac',
    40: 'handshake_failure',
    42: 'bad_certificate',
    43: 'unsupported_certificate',
    44: 'certificate_revoked',
    45: 'certificate_expired',
    46: 'certificate_unknown',
    47: 'illegal_parameter',
    48: 'unknown_ca',
    50: 'decode_error',
    51: 'decrypt_error',
    70: 'protocol_version',
    80: 'internal_error',
    112: 'unrecognized_name',
    116: 'certificate_required',
    120: 'no_application_protocol',
  };
  return names[d] ?? `alert ${d}`;
}
