// Builds capture files in code: classic pcap (any byte order, micro/nanoseconds), pcapng, and the
// frames inside them (Ethernet, Linux cooked v1/v2, loopback, raw; IPv4/IPv6 with extension
// headers; TCP conversations with correct sequence numbers, reordering and retransmission).
// Used by the tests (crafted captures instead of committed binaries) and by the benchmark.
// Checksums are left zero: the reader never verifies them (captures on the sending host carry
// offloaded, unfinished checksums anyway).

export interface Endpoint {
  ip: string;
  port: number;
}

function ipBytes(ip: string): Buffer {
  if (!ip.includes(':')) {
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255)))
      throw new Error(`bad IPv4 address ${ip}`);
    return Buffer.from(parts);
  }
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (words.length !== 8) throw new Error(`bad IPv6 address ${ip}`);
  const b = Buffer.alloc(16);
  words.forEach((w, i) => {
    b.writeUInt16BE(Number.parseInt(w, 16), i * 2);
  });
  return b;
}

export interface TcpHeaderOpts {
  src: Endpoint;
  dst: Endpoint;
  seq: number;
  ack: number;
  flags: number;
  payload?: Buffer;
  /** IPv6 extension headers to put before TCP: [next-header type of THIS header, body incl. its 2 first bytes]. */
  ext6?: Array<{ type: number; body: Buffer }>;
}

function tcpHeader(o: TcpHeaderOpts): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(o.src.port, 0);
  t.writeUInt16BE(o.dst.port, 2);
  t.writeUInt32BE(o.seq >>> 0, 4);
  t.writeUInt32BE(o.ack >>> 0, 8);
  t[12] = 5 << 4;
  t[13] = o.flags;
  t.writeUInt16BE(65535, 14);
  return t;
}

/** An IPv4 or IPv6 packet (by the address family) carrying one TCP segment. */
export function ipTcp(o: TcpHeaderOpts): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const tcp = Buffer.concat([tcpHeader(o), payload]);
  const src = ipBytes(o.src.ip);
  const dst = ipBytes(o.dst.ip);
  if (src.length === 4) {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(20 + tcp.length, 2);
    h[6] = 0x40; // don't fragment
    h[8] = 64;
    h[9] = 6;
    src.copy(h, 12);
    dst.copy(h, 16);
    return Buffer.concat([h, tcp]);
  }
  const exts = o.ext6 ?? [];
  const extBytes: Buffer[] = [];
  exts.forEach((e, i) => {
    const body = Buffer.from(e.body);
    body[0] = i + 1 < exts.length ? exts[i + 1]!.type : 6;
    extBytes.push(body);
  });
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  const plen = extBytes.reduce((n, b) => n + b.length, 0) + tcp.length;
  h.writeUInt16BE(plen, 4);
  h[6] = exts.length ? exts[0]!.type : 6;
  h[7] = 64;
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, ...extBytes, tcp]);
}

const ethertypeOf = (ip: Buffer) => (ip[0]! >> 4 === 6 ? 0x86dd : 0x0800);

/** Wraps an IP packet in the link layer of `linkType`. */
export function frame(linkType: number, ip: Buffer, opts: { vlan?: number } = {}): Buffer {
  const et = ethertypeOf(ip);
  switch (linkType) {
    case 1: {
      const tag = opts.vlan !== undefined ? 4 : 0;
      const h = Buffer.alloc(14 + tag);
      Buffer.from('020000000002', 'hex').copy(h, 0);
      Buffer.from('020000000001', 'hex').copy(h, 6);
      if (tag) {
        h.writeUInt16BE(0x8100, 12);
        h.writeUInt16BE(opts.vlan!, 14);
        h.writeUInt16BE(et, 16);
      } else h.writeUInt16BE(et, 12);
      const f = Buffer.concat([h, ip]);
      // Ethernet pads short frames to 60 bytes: the reader must not take the padding for payload.
      return f.length < 60 ? Buffer.concat([f, Buffer.alloc(60 - f.length, 0xee)]) : f;
    }
    case 113: {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0); // packet type: to us
      h.writeUInt16BE(772, 2); // ARPHRD_LOOPBACK
      h.writeUInt16BE(6, 4);
      h.writeUInt16BE(et, 14);
      return Buffer.concat([h, ip]);
    }
    case 276: {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(et, 0);
      h.writeUInt32BE(1, 4); // interface index
      h.writeUInt16BE(772, 8);
      h[11] = 6;
      return Buffer.concat([h, ip]);
    }
    case 0: {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(et === 0x86dd ? 30 : 2, 0); // BSD AF_INET6 = 30 on macOS
      return Buffer.concat([h, ip]);
    }
    case 101:
    case 228:
    case 229:
      return ip;
    default:
      throw new Error(`craft: link type ${linkType} not supported`);
  }
}

export interface CaptureRecord {
  ts: number;
  data: Buffer;
  /** Bytes on the wire (default: data.length). */
  origLen?: number;
  /** pcapng interface index. */
  ifIndex?: number;
}

/** A classic pcap file. */
export function pcapFile(
  records: CaptureRecord[],
  opts: { linkType?: number; nano?: boolean; bigEndian?: boolean; snaplen?: number } = {},
): Buffer {
  return Buffer.concat([pcapHeader(opts), ...records.map((r) => pcapRecord(r, opts))]);
}

export function pcapHeader(opts: {
  linkType?: number;
  nano?: boolean;
  bigEndian?: boolean;
  snaplen?: number;
}): Buffer {
  const h = Buffer.alloc(24);
  const w32 = (v: number, at: number) => (opts.bigEndian ? h.writeUInt32BE(v, at) : h.writeUInt32LE(v, at));
  const w16 = (v: number, at: number) => (opts.bigEndian ? h.writeUInt16BE(v, at) : h.writeUInt16LE(v, at));
  w32(opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(2, 4);
  w16(4, 6);
  w32(opts.snaplen ?? 262144, 16);
  w32(opts.linkType ?? 1, 20);
  return h;
}

export function pcapRecord(r: CaptureRecord, opts: { nano?: boolean; bigEndian?: boolean } = {}): Buffer {
  const h = Buffer.alloc(16);
  const w32 = (v: number, at: number) => (opts.bigEndian ? h.writeUInt32BE(v, at) : h.writeUInt32LE(v, at));
  const sec = Math.floor(r.ts);
  w32(sec, 0);
  w32(Math.round((r.ts - sec) * (opts.nano ? 1e9 : 1e6)), 4);
  w32(r.data.length, 8);
  w32(r.origLen ?? r.data.length, 12);
  return Buffer.concat([h, r.data]);
}

const pad4 = (n: number) => (n + 3) & ~3;

function block(type: number, body: Buffer, be: boolean): Buffer {
  const len = 12 + pad4(body.length);
  const b = Buffer.alloc(len);
  const w32 = (v: number, at: number) => (be ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at));
  w32(type, 0);
  w32(len, 4);
  body.copy(b, 8);
  w32(len, len - 4);
  return b;
}

export interface NgInterface {
  linkType: number;
  /** if_tsresol option byte (default: none, i.e. microseconds). */
  tsresol?: number;
}

/**
 * A pcapng file: one section per entry. Packets go out as Enhanced Packet Blocks, or as a Simple
 * Packet Block when `simple` is set (interface 0, no timestamp).
 */
export function pcapngFile(
  sections: Array<{
    interfaces: NgInterface[];
    records: Array<CaptureRecord & { simple?: boolean }>;
    bigEndian?: boolean;
  }>,
): Buffer {
  const out: Buffer[] = [];
  for (const s of sections) {
    const be = s.bigEndian ?? false;
    const shb = Buffer.alloc(16);
    if (be) {
      shb.writeUInt32BE(0x1a2b3c4d, 0);
      shb.writeUInt16BE(1, 4);
    } else {
      shb.writeUInt32LE(0x1a2b3c4d, 0);
      shb.writeUInt16LE(1, 4);
    }
    shb.fill(0xff, 8, 16); // section length unknown
    out.push(block(0x0a0d0d0a, shb, be));
    // A name resolution block the reader must skip.
    out.push(block(4, Buffer.alloc(4), be));
    for (const i of s.interfaces) {
      const opts: Buffer[] = [];
      if (i.tsresol !== undefined) {
        const o = Buffer.alloc(8);
        if (be) {
          o.writeUInt16BE(9, 0);
          o.writeUInt16BE(1, 2);
        } else {
          o.writeUInt16LE(9, 0);
          o.writeUInt16LE(1, 2);
        }
        o[4] = i.tsresol;
        opts.push(o, Buffer.alloc(4)); // opt_endofopt
      }
      const body = Buffer.alloc(8);
      if (be) {
        body.writeUInt16BE(i.linkType, 0);
        body.writeUInt32BE(262144, 4);
      } else {
        body.writeUInt16LE(i.linkType, 0);
        body.writeUInt32LE(262144, 4);
      }
      out.push(block(1, Buffer.concat([body, ...opts]), be));
    }
    for (const r of s.records) {
      if (r.simple) {
        const h = Buffer.alloc(4);
        if (be) h.writeUInt32BE(r.origLen ?? r.data.length, 0);
        else h.writeUInt32LE(r.origLen ?? r.data.length, 0);
        out.push(block(3, Buffer.concat([h, r.data]), be));
        continue;
      }
      const iface = s.interfaces[r.ifIndex ?? 0]!;
      const res =
        iface.tsresol === undefined
          ? 1e6
          : iface.tsresol & 0x80
            ? 2 ** (iface.tsresol & 0x7f)
            : 10 ** iface.tsresol;
      const units = (BigInt(Math.round(r.ts * 1e6)) * BigInt(Math.round(res))) / 1000000n;
      const h = Buffer.alloc(20);
      const w32 = (v: number, at: number) => (be ? h.writeUInt32BE(v, at) : h.writeUInt32LE(v, at));
      w32(r.ifIndex ?? 0, 0);
      w32(Number(units >> 32n), 4);
      w32(Number(units & 0xffffffffn), 8);
      w32(r.data.length, 12);
      w32(r.origLen ?? r.data.length, 16);
      out.push(block(6, Buffer.concat([h, r.data]), be));
    }
  }
  return Buffer.concat(out);
}

const EMPTY = Buffer.alloc(0);
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;

/**
 * A TCP conversation with correct sequence numbers. Calls append IP packets in order; tests then
 * reorder or duplicate them to build hostile captures.
 */
export class TcpConversation {
  readonly packets: Buffer[] = [];
  private cSeq: number;
  private sSeq: number;
  constructor(
    readonly client: Endpoint,
    readonly server: Endpoint,
    isn: { client?: number; server?: number } = {},
  ) {
    this.cSeq = isn.client ?? 1000;
    this.sSeq = isn.server ?? 5000;
  }

  handshake(): this {
    this.push('c', SYN, Buffer.alloc(0), this.cSeq - 1, 0);
    this.push('s', SYN | ACK, Buffer.alloc(0), this.sSeq - 1, this.cSeq);
    this.push('c', ACK, Buffer.alloc(0), this.cSeq, this.sSeq);
    return this;
  }

  /**
   * Sends `data` from one side in segments of at most `mss` bytes; with `ackEvery` = k the other
   * side answers every k-th segment with a pure ACK (as real receivers do: delayed ACKs).
   */
  send(from: 'c' | 's', data: Buffer, mss = 1448, ackEvery = 0): this {
    let n = 0;
    for (let i = 0; i < data.length; i += mss) {
      const part = data.subarray(i, i + mss);
      if (from === 'c') {
        this.push('c', ACK | PSH, part, this.cSeq, this.sSeq);
        this.cSeq = (this.cSeq + part.length) >>> 0;
        if (ackEvery && ++n % ackEvery === 0) this.push('s', ACK, EMPTY, this.sSeq, this.cSeq);
      } else {
        this.push('s', ACK | PSH, part, this.sSeq, this.cSeq);
        this.sSeq = (this.sSeq + part.length) >>> 0;
        if (ackEvery && ++n % ackEvery === 0) this.push('c', ACK, EMPTY, this.cSeq, this.sSeq);
      }
    }
    return this;
  }

  close(): this {
    this.push('c', FIN | ACK, Buffer.alloc(0), this.cSeq, this.sSeq);
    this.cSeq = (this.cSeq + 1) >>> 0;
    this.push('s', FIN | ACK, Buffer.alloc(0), this.sSeq, this.cSeq);
    this.sSeq = (this.sSeq + 1) >>> 0;
    this.push('c', ACK, Buffer.alloc(0), this.cSeq, this.sSeq);
    return this;
  }

  private push(from: 'c' | 's', flags: number, payload: Buffer, seq: number, ack: number): void {
    const [src, dst] = from === 'c' ? [this.client, this.server] : [this.server, this.client];
    this.packets.push(ipTcp({ src, dst, seq: seq >>> 0, ack, flags, payload }));
  }
}

/** Timestamps 1 ms apart from a fixed start, wrapped in `linkType` frames. */
export function records(packets: Buffer[], linkType = 1, start = 1_700_000_000): CaptureRecord[] {
  return packets.map((p, i) => ({ ts: start + i / 1000, data: frame(linkType, p) }));
}

/** A minimal TLS ClientHello record with SNI, ALPN and supported_versions. */
export function clientHello(opts: { sni?: string; alpn?: string[]; versions?: number[] } = {}): Buffer {
  const exts: Buffer[] = [];
  const ext = (type: number, body: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(type, 0);
    h.writeUInt16BE(body.length, 2);
    exts.push(h, body);
  };
  if (opts.sni !== undefined) {
    const n = Buffer.from(opts.sni, 'latin1');
    const b = Buffer.alloc(5 + n.length);
    b.writeUInt16BE(3 + n.length, 0);
    b[2] = 0;
    b.writeUInt16BE(n.length, 3);
    n.copy(b, 5);
    ext(0, b);
  }
  if (opts.alpn !== undefined) {
    const list = Buffer.concat(
      opts.alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])),
    );
    const b = Buffer.alloc(2);
    b.writeUInt16BE(list.length, 0);
    ext(16, Buffer.concat([b, list]));
  }
  const versions = opts.versions ?? [0x0a0a, 0x0304, 0x0303];
  const vb = Buffer.alloc(1 + versions.length * 2);
  vb[0] = versions.length * 2;
  versions.forEach((v, i) => {
    vb.writeUInt16BE(v, 1 + i * 2);
  });
  ext(43, vb);
  const extensions = Buffer.concat(exts);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7), // random
    Buffer.from([0]), // session id
    Buffer.from([0, 2, 0x13, 0x01]), // one cipher suite
    Buffer.from([1, 0]), // null compression
    u16(extensions.length),
    extensions,
  ]);
  return tlsRecord(22, handshakeMsg(1, body), 0x0301);
}

/** A ServerHello record selecting `version` (TLS 1.3 via supported_versions). */
export function serverHello(version = 0x0304): Buffer {
  const exts = version === 0x0304 ? Buffer.from([0, 43, 0, 2, 3, 4]) : Buffer.alloc(0);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 9),
    Buffer.from([0]),
    Buffer.from([0x13, 0x01, 0]),
    u16(exts.length),
    exts,
  ]);
  return tlsRecord(22, handshakeMsg(2, body));
}

export function tlsRecord(type: number, body: Buffer, version = 0x0303): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16BE(version, 1);
  h.writeUInt16BE(body.length, 3);
  return Buffer.concat([h, body]);
}

function handshakeMsg(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([h, body]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}
