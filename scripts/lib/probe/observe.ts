// What the server sent during a probe's TLS handshake, read off the wire: whether it asked for a
// client certificate (a CertificateRequest), the alert it sent, and its first bytes.
//
// Node exposes none of this directly (OpenSSL's client-certificate callback is not reachable, and
// a client that holds a certificate sends it silently). So the probe reads the server's bytes
// itself: the TLS socket runs over a Duplex that copies everything the server sends. In TLS 1.2 the
// CertificateRequest is in clear. In TLS 1.3 it sits in the encrypted handshake flight, so the
// probe decrypts that flight with the server handshake traffic secret that Node hands out through
// the socket's 'keylog' event (RFC 8446 7.3 key schedule; AES-GCM and ChaCha20-Poly1305 suites).
// The secret lives only in memory for the duration of one dial and never reaches any evidence.
import { createDecipheriv, createHmac } from 'node:crypto';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import {
  alertName,
  CT_ALERT,
  CT_APPDATA,
  CT_HANDSHAKE,
  isRecordHeader,
  parseServerHello,
} from '../capture/tls.ts';

const CERTIFICATE_REQUEST = 13;
const FINISHED = 20;
/** How much of the server's stream is kept: the handshake flight fits with room to spare. */
const MAX_KEPT = 64 * 1024;

/** Copies the server's bytes while forwarding both ways (tls.connect({ socket }) runs over it). */
export class ObservedStream extends Duplex {
  readonly received: Buffer[] = [];
  private kept = 0;
  constructor(private readonly sock: net.Socket) {
    super();
    sock.on('data', (d: Buffer) => {
      if (this.kept < MAX_KEPT) {
        this.received.push(d);
        this.kept += d.length;
      }
      if (!this.push(d)) sock.pause();
    });
    sock.on('end', () => this.push(null));
    sock.on('error', (e) => this.destroy(e));
    sock.on('close', () => this.destroy());
  }
  override _read() {
    this.sock.resume();
  }
  override _write(chunk: Buffer, enc: BufferEncoding, cb: (e?: Error | null) => void) {
    this.sock.write(chunk, enc, cb);
  }
  override _final(cb: () => void) {
    this.sock.end();
    cb();
  }
  override _destroy(err: Error | null, cb: (e: Error | null) => void) {
    this.sock.destroy();
    cb(err);
  }
  bytes(): Buffer {
    return Buffer.concat(this.received);
  }
}

export interface ServerFlightFacts {
  /** true/false when the handshake got far enough to tell; undefined otherwise. */
  certificateRequested?: boolean;
  /** How it was told: "TLS 1.2 cleartext handshake" or "TLS 1.3 handshake flight decrypted". */
  how?: string;
  /** An alert the server sent in clear (TLS 1.2, or before encryption). */
  alert?: string;
  /** The first bytes the server sent (hex), or '' when it sent nothing. */
  firstBytes: string;
}

interface Suite {
  cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  hash: 'sha256' | 'sha384';
  keyLen: number;
}

const TLS13_SUITES: Record<number, Suite> = {
  4865: { cipher: 'aes-128-gcm', hash: 'sha256', keyLen: 16 },
  4866: { cipher: 'aes-256-gcm', hash: 'sha384', keyLen: 32 },
  4867: { cipher: 'chacha20-poly1305', hash: 'sha256', keyLen: 32 },
};

/** HKDF-Expand-Label with an empty context, for outputs no longer than one hash block. */
function expandLabel(secret: Buffer, label: string, length: number, hash: string): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    Buffer.from([length >> 8, length & 0xff, full.length]),
    full,
    Buffer.from([0]),
  ]);
  return createHmac(hash, secret)
    .update(Buffer.concat([info, Buffer.from([1])]))
    .digest()
    .subarray(0, length);
}

interface RawRecord {
  type: number;
  header: Buffer;
  body: Buffer;
}

function splitRecords(b: Buffer): RawRecord[] {
  const out: RawRecord[] = [];
  for (let i = 0; isRecordHeader(b, i); ) {
    const len = b.readUInt16BE(i + 3);
    if (i + 5 + len > b.length) break;
    out.push({ type: b[i]!, header: b.subarray(i, i + 5), body: b.subarray(i + 5, i + 5 + len) });
    i += 5 + len;
  }
  return out;
}

function handshakeTypes(hs: Buffer): number[] {
  const types: number[] = [];
  for (let p = 0; p + 4 <= hs.length; p += 4 + hs.readUIntBE(p + 1, 3)) types.push(hs[p]!);
  return types;
}

/** The cipher suite a ServerHello chose (parseServerHello does not keep it). */
function cipherSuiteOf(hs: Buffer): number | undefined {
  if (hs.length < 4 + 35 || hs[0] !== 2) return undefined;
  const p = 4 + 34 + 1 + hs[4 + 34]!;
  return p + 2 <= hs.length ? hs.readUInt16BE(p) : undefined;
}

/** The handshake messages of the server's encrypted TLS 1.3 flight, or null when it cannot be read. */
function decryptFlight(records: RawRecord[], suite: Suite, secret: Buffer): Buffer | null {
  const key = expandLabel(secret, 'key', suite.keyLen, suite.hash);
  const iv = expandLabel(secret, 'iv', 12, suite.hash);
  const parts: Buffer[] = [];
  let seq = 0;
  for (const r of records) {
    if (r.type !== CT_APPDATA) continue;
    if (r.body.length < 17) return null;
    const nonce = Buffer.from(iv);
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
    seq++;
    try {
      const d = createDecipheriv(suite.cipher, key, nonce, { authTagLength: 16 } as never) as ReturnType<
        typeof createDecipheriv
      > & { setAAD(b: Buffer): void; setAuthTag(b: Buffer): void };
      d.setAAD(r.header);
      d.setAuthTag(r.body.subarray(r.body.length - 16));
      const inner = Buffer.concat([d.update(r.body.subarray(0, r.body.length - 16)), d.final()]);
      let end = inner.length - 1;
      while (end >= 0 && inner[end] === 0) end--;
      if (end < 0) return null;
      if (inner[end] !== CT_HANDSHAKE) break;
      parts.push(inner.subarray(0, end));
      // The flight ends with the server's Finished; what follows is under other keys.
      if (handshakeTypes(Buffer.concat(parts)).includes(FINISHED)) break;
    } catch {
      // Records after the flight (application data, tickets) use other keys: the flight is over.
      break;
    }
  }
  return parts.length ? Buffer.concat(parts) : null;
}

/**
 * Reads the server's side of one handshake. `serverHandshakeSecret` is the hex
 * SERVER_HANDSHAKE_TRAFFIC_SECRET from the keylog (TLS 1.3 only).
 */
export function serverFlightFacts(server: Buffer, serverHandshakeSecret?: string): ServerFlightFacts {
  const facts: ServerFlightFacts = { firstBytes: server.subarray(0, 16).toString('hex') };
  const records = splitRecords(server);
  const clearHs = Buffer.concat(records.filter((r) => r.type === CT_HANDSHAKE).map((r) => r.body));
  const firstAlert = records.find((r) => r.type === CT_ALERT && r.body.length === 2);
  if (firstAlert) facts.alert = alertName(firstAlert.body[1]!);
  const hello = parseServerHello(clearHs);
  if (!hello) return facts;
  if (hello.version !== 0x0304) {
    const types = handshakeTypes(clearHs);
    // The request, if any, comes before ServerHelloDone (14); without that the flight was cut.
    if (types.includes(CERTIFICATE_REQUEST) || types.includes(14)) {
      facts.certificateRequested = types.includes(CERTIFICATE_REQUEST);
      facts.how = 'TLS 1.2 cleartext handshake';
    }
    return facts;
  }
  const suiteId = cipherSuiteOf(clearHs);
  const suite = suiteId === undefined ? undefined : TLS13_SUITES[suiteId];
  if (!suite || !serverHandshakeSecret) return facts;
  const flight = decryptFlight(records, suite, Buffer.from(serverHandshakeSecret, 'hex'));
  if (!flight) return facts;
  const types = handshakeTypes(flight);
  // EncryptedExtensions, [CertificateRequest], Certificate...: known once Certificate (11) is seen.
  if (types.includes(CERTIFICATE_REQUEST) || types.includes(11)) {
    facts.certificateRequested = types.includes(CERTIFICATE_REQUEST);
    facts.how = 'TLS 1.3 handshake flight decrypted';
  }
  return facts;
}

/** The SERVER_HANDSHAKE_TRAFFIC_SECRET of a keylog line, or undefined. */
export function serverHandshakeSecretOf(line: Buffer | string): string | undefined {
  const m = /^SERVER_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]+ ([0-9a-f]+)/i.exec(String(line));
  return m?.[1];
}
