// Capture file reader: classic pcap (both byte orders, micro- and nanosecond) and pcapng
// (SHB/IDB/EPB/SPB and the obsolete PB; several interfaces, each with its own link type).
// Hand-written on purpose: no npm package reads pcap AND lets us reassemble TCP streams without
// per-packet object churn (stack.md). The reader streams the file through one reusable buffer and
// hands each packet to a visitor as (buffer, offset, length) on ONE reused PacketRef object, so a
// 100 MB capture costs no per-packet allocation here.
import { closeSync, openSync, readSync } from 'node:fs';

/** A file that is not a capture, or a capture that is truncated or corrupt. `offset` is a byte offset. */
export class CaptureFormatError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'CaptureFormatError';
    this.offset = offset;
  }
}

/**
 * One packet. The reader reuses this object and its buffer for every packet: a visitor must copy
 * what it keeps (buf is only valid during the call).
 */
export interface PacketRef {
  buf: Buffer;
  /** Where the link-layer frame starts in buf. */
  offset: number;
  /** Bytes captured (may be less than origLen when the snap length cut the packet). */
  capLen: number;
  /** Bytes on the wire. */
  origLen: number;
  linkType: number;
  /** Interface index within the pcapng section (0 for classic pcap). */
  ifIndex: number;
  /** Seconds since the epoch (float; sub-microsecond precision is not kept). */
  ts: number;
  /** 1-based packet number, as Wireshark counts. */
  index: number;
}

export type PacketVisitor = (p: PacketRef) => void;

export interface CaptureInfo {
  format: 'pcap' | 'pcapng';
  byteOrder: 'little-endian' | 'big-endian';
  /** Link type of every interface seen (classic pcap: one). */
  linkTypes: number[];
  packets: number;
  /** Bytes of the file read. */
  bytes: number;
  /** Set when the tail was truncated and tolerateTruncatedTail was given. */
  truncatedTail?: string;
}

export interface ReadOptions {
  /**
   * Accept a capture whose last record is cut short (a capture process killed mid-write) and
   * report it in CaptureInfo.truncatedTail instead of failing. Default: fail.
   */
  tolerateTruncatedTail?: boolean;
  /** Read buffer size (bytes). */
  chunkSize?: number;
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
/** No sane record is bigger; a larger length means a corrupt file, not a big packet. */
const MAX_RECORD = 16 * 1024 * 1024;

/** A window over the file: `ensure(n)` makes n bytes available at `start`, compacting as needed. */
class Source {
  buf: Buffer;
  start = 0;
  end = 0;
  /** File offset of buf[0]. */
  base = 0;
  private eof: boolean;
  private readonly fill: ((b: Buffer, off: number, len: number) => number) | null;

  constructor(buf: Buffer, fill: ((b: Buffer, off: number, len: number) => number) | null) {
    this.buf = buf;
    this.fill = fill;
    this.eof = fill === null;
    if (fill === null) this.end = buf.length;
  }

  /** File offset of `start`. */
  get pos(): number {
    return this.base + this.start;
  }

  ensure(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (this.eof || this.fill === null) return false;
    if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.end -= this.start;
      this.base += this.start;
      this.start = 0;
    }
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    while (this.end < n) {
      const got = this.fill(this.buf, this.end, this.buf.length - this.end);
      if (got <= 0) {
        this.eof = true;
        break;
      }
      this.end += got;
    }
    return this.end - this.start >= n;
  }

  remaining(): number {
    return this.end - this.start;
  }
}

/** Reads a capture held in memory. */
export function readCaptureBuffer(data: Buffer, visit: PacketVisitor, opts: ReadOptions = {}): CaptureInfo {
  return readFrom(new Source(data, null), visit, opts);
}

/** Streams a capture file from disk through one buffer. Throws CaptureFormatError or an fs error. */
export function readCaptureFile(path: string, visit: PacketVisitor, opts: ReadOptions = {}): CaptureInfo {
  const fd = openSync(path, 'r');
  try {
    const src = new Source(Buffer.allocUnsafe(opts.chunkSize ?? 4 * 1024 * 1024), (b, off, len) =>
      readSync(fd, b, off, len, null),
    );
    return readFrom(src, visit, opts);
  } finally {
    closeSync(fd);
  }
}

function describeMagic(src: Source): string {
  const n = Math.min(src.remaining(), 8);
  const head = src.buf.subarray(src.start, src.start + n);
  if (n === 0) return 'the file is empty';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'it is gzip-compressed (gunzip it first)';
  const printable = [...head].every((c) => c >= 0x20 && c < 0x7f);
  return `not a pcap or pcapng file (starts with ${printable ? JSON.stringify(head.toString('latin1')) : `0x${head.toString('hex')}`})`;
}

function readFrom(src: Source, visit: PacketVisitor, opts: ReadOptions): CaptureInfo {
  if (!src.ensure(4)) {
    throw new CaptureFormatError(
      src.remaining() === 0 ? 'the file is empty' : 'truncated: shorter than any capture header',
      0,
    );
  }
  const le = src.buf.readUInt32LE(src.start);
  if (le === PCAPNG_SHB) return readPcapng(src, visit, opts);
  if (le === PCAP_US || le === PCAP_NS) return readPcap(src, visit, opts, true, le === PCAP_NS);
  const be = src.buf.readUInt32BE(src.start);
  if (be === PCAP_US || be === PCAP_NS) return readPcap(src, visit, opts, false, be === PCAP_NS);
  throw new CaptureFormatError(`cannot read: ${describeMagic(src)}`, 0);
}

function newRef(): PacketRef {
  return { buf: Buffer.alloc(0), offset: 0, capLen: 0, origLen: 0, linkType: 0, ifIndex: 0, ts: 0, index: 0 };
}

function truncated(
  opts: ReadOptions,
  info: CaptureInfo,
  src: Source,
  what: string,
  need: number,
): CaptureInfo {
  const msg = `truncated: ${what} at byte ${src.pos} needs ${need} bytes, only ${src.remaining()} remain`;
  if (!opts.tolerateTruncatedTail) throw new CaptureFormatError(msg, src.pos);
  info.truncatedTail = msg;
  info.bytes = src.pos + src.remaining();
  return info;
}

function readPcap(
  src: Source,
  visit: PacketVisitor,
  opts: ReadOptions,
  le: boolean,
  nano: boolean,
): CaptureInfo {
  if (!src.ensure(24)) {
    throw new CaptureFormatError(
      `truncated: the pcap file header needs 24 bytes, the file has ${src.remaining()}`,
      0,
    );
  }
  const b = src.buf;
  const h = src.start;
  const major = le ? b.readUInt16LE(h + 4) : b.readUInt16BE(h + 4);
  if (major !== 2) throw new CaptureFormatError(`unsupported pcap version ${major} (expected 2)`, 4);
  // The link type field's upper bits carry FCS information; the type is the low 16 bits.
  const linkType = (le ? b.readUInt32LE(h + 20) : b.readUInt32BE(h + 20)) & 0xffff;
  const fracDiv = nano ? 1e9 : 1e6;
  src.start += 24;
  const info: CaptureInfo = {
    format: 'pcap',
    byteOrder: le ? 'little-endian' : 'big-endian',
    linkTypes: [linkType],
    packets: 0,
    bytes: 0,
  };
  const ref = newRef();
  ref.linkType = linkType;
  let index = 0;
  while (src.ensure(16)) {
    const buf = src.buf;
    const o = src.start;
    const sec = le ? buf.readUInt32LE(o) : buf.readUInt32BE(o);
    const frac = le ? buf.readUInt32LE(o + 4) : buf.readUInt32BE(o + 4);
    const incl = le ? buf.readUInt32LE(o + 8) : buf.readUInt32BE(o + 8);
    const orig = le ? buf.readUInt32LE(o + 12) : buf.readUInt32BE(o + 12);
    if (incl > MAX_RECORD) {
      throw new CaptureFormatError(
        `corrupt: packet record ${index + 1} at byte ${src.pos} claims ${incl} bytes`,
        src.pos,
      );
    }
    if (!src.ensure(16 + incl))
      return truncated(opts, finish(info, index, src), src, `packet record ${index + 1}`, 16 + incl);
    index++;
    ref.buf = src.buf;
    ref.offset = src.start + 16;
    ref.capLen = incl;
    ref.origLen = orig;
    ref.ts = sec + frac / fracDiv;
    ref.index = index;
    visit(ref);
    src.start += 16 + incl;
  }
  if (src.remaining() > 0) {
    return truncated(opts, finish(info, index, src), src, `packet record header ${index + 1}`, 16);
  }
  return finish(info, index, src);
}

function finish(info: CaptureInfo, packets: number, src: Source): CaptureInfo {
  info.packets = packets;
  info.bytes = src.pos;
  return info;
}

interface Iface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSec: number;
  tsOffset: number;
}

function readPcapng(src: Source, visit: PacketVisitor, opts: ReadOptions): CaptureInfo {
  const info: CaptureInfo = {
    format: 'pcapng',
    byteOrder: 'little-endian',
    linkTypes: [],
    packets: 0,
    bytes: 0,
  };
  const ref = newRef();
  let le = true;
  let ifaces: Iface[] = [];
  let index = 0;
  let first = true;
  while (src.ensure(8)) {
    let b = src.buf;
    let o = src.start;
    const typeLe = b.readUInt32LE(o);
    if (typeLe === PCAPNG_SHB) {
      // A new section: its byte-order magic decides the endianness of everything in it.
      if (!src.ensure(12)) return truncated(opts, finish(info, index, src), src, 'section header block', 12);
      b = src.buf;
      o = src.start;
      const bom = b.readUInt32LE(o + 8);
      if (bom === PCAPNG_BOM) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else
        throw new CaptureFormatError(
          `corrupt pcapng: bad byte-order magic at byte ${src.pos + 8}`,
          src.pos + 8,
        );
      if (first) info.byteOrder = le ? 'little-endian' : 'big-endian';
      ifaces = [];
    } else if (first) {
      throw new CaptureFormatError('corrupt pcapng: the first block is not a section header', 0);
    }
    first = false;
    const type = le ? b.readUInt32LE(o) : b.readUInt32BE(o);
    const len = le ? b.readUInt32LE(o + 4) : b.readUInt32BE(o + 4);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
      throw new CaptureFormatError(`corrupt pcapng: block at byte ${src.pos} has length ${len}`, src.pos);
    }
    if (!src.ensure(len))
      return truncated(opts, finish(info, index, src), src, `pcapng block (type ${type})`, len);
    b = src.buf;
    o = src.start;
    const trailer = le ? b.readUInt32LE(o + len - 4) : b.readUInt32BE(o + len - 4);
    if (trailer !== len) {
      throw new CaptureFormatError(
        `corrupt pcapng: block at byte ${src.pos} says length ${len} at its start and ${trailer} at its end`,
        src.pos,
      );
    }
    if (type === 1) {
      if (len < 20)
        throw new CaptureFormatError(`corrupt pcapng: short interface block at byte ${src.pos}`, src.pos);
      const iface: Iface = {
        linkType: le ? b.readUInt16LE(o + 8) : b.readUInt16BE(o + 8),
        unitsPerSec: 1e6,
        tsOffset: 0,
      };
      readIfaceOptions(b, o + 16, o + len - 4, le, iface);
      ifaces.push(iface);
      if (!info.linkTypes.includes(iface.linkType)) info.linkTypes.push(iface.linkType);
    } else if (type === 6 || type === 2) {
      // Enhanced Packet Block, or the obsolete Packet Block (16-bit interface id + drops count).
      if (len < 32)
        throw new CaptureFormatError(`corrupt pcapng: short packet block at byte ${src.pos}`, src.pos);
      const ifId = type === 6 ? u32(b, o + 8, le) : le ? b.readUInt16LE(o + 8) : b.readUInt16BE(o + 8);
      const iface = ifaces[ifId];
      if (iface === undefined) {
        throw new CaptureFormatError(
          `corrupt pcapng: packet at byte ${src.pos} names interface ${ifId}, but the section declares ${ifaces.length}`,
          src.pos,
        );
      }
      const capLen = u32(b, o + 20, le);
      if (28 + capLen > len - 4) {
        throw new CaptureFormatError(
          `corrupt pcapng: packet at byte ${src.pos} claims ${capLen} bytes in a ${len}-byte block`,
          src.pos,
        );
      }
      index++;
      ref.buf = b;
      ref.offset = o + 28;
      ref.capLen = capLen;
      ref.origLen = u32(b, o + 24, le);
      ref.linkType = iface.linkType;
      ref.ifIndex = ifId;
      // 64-bit timestamp as a double: exact to 2^53 units, about 0.2 us off for nanosecond units.
      ref.ts = (u32(b, o + 12, le) * 4294967296 + u32(b, o + 16, le)) / iface.unitsPerSec + iface.tsOffset;
      ref.index = index;
      visit(ref);
    } else if (type === 3) {
      // Simple Packet Block: interface 0, no timestamp, captured length implied by the block.
      if (len < 16)
        throw new CaptureFormatError(`corrupt pcapng: short simple packet block at byte ${src.pos}`, src.pos);
      const iface = ifaces[0];
      if (iface === undefined) {
        throw new CaptureFormatError(
          `corrupt pcapng: simple packet at byte ${src.pos} before any interface`,
          src.pos,
        );
      }
      const origLen = u32(b, o + 8, le);
      index++;
      ref.buf = b;
      ref.offset = o + 12;
      ref.capLen = Math.min(origLen, len - 16);
      ref.origLen = origLen;
      ref.linkType = iface.linkType;
      ref.ifIndex = 0;
      ref.ts = 0;
      ref.index = index;
      visit(ref);
    }
    // Other blocks (name resolution, statistics, decryption secrets, custom) carry no packets.
    src.start += len;
  }
  if (src.remaining() > 0) return truncated(opts, finish(info, index, src), src, 'pcapng block header', 8);
  return finish(info, index, src);
}

function u32(b: Buffer, at: number, le: boolean): number {
  return le ? b.readUInt32LE(at) : b.readUInt32BE(at);
}

function readIfaceOptions(b: Buffer, from: number, to: number, le: boolean, iface: Iface): void {
  let p = from;
  while (p + 4 <= to) {
    const code = le ? b.readUInt16LE(p) : b.readUInt16BE(p);
    const olen = le ? b.readUInt16LE(p + 2) : b.readUInt16BE(p + 2);
    if (code === 0) break;
    const v = p + 4;
    if (v + olen > to) break;
    if (code === 9 && olen >= 1) {
      // if_tsresol: high bit clear = 10^-n, set = 2^-n.
      const r = b[v]!;
      iface.unitsPerSec = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
    } else if (code === 14 && olen >= 8) {
      const hi = le ? b.readInt32LE(v + 4) : b.readInt32BE(v);
      const lo = le ? b.readUInt32LE(v) : b.readUInt32BE(v + 4);
      iface.tsOffset = hi * 4294967296 + lo;
    }
    p = v + ((olen + 3) & ~3);
  }
}

/** Names of the link types this tool decodes (others are counted and reported as unsupported). */
export const LINK_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'NULL (BSD loopback)',
  1: 'Ethernet',
  12: 'raw IP',
  14: 'raw IP',
  101: 'raw IP',
  108: 'OpenBSD loopback',
  113: 'Linux cooked v1',
  228: 'raw IPv4',
  229: 'raw IPv6',
  276: 'Linux cooked v2',
};

export function linkTypeName(lt: number): string {
  return LINK_TYPE_NAMES[lt] ?? `link type ${lt}`;
}
