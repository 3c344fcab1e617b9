// TCP stream reassembly per flow, both directions, with bounded memory: each direction keeps only
// its first `retainBytes` of stream content (enough to classify) plus byte counters from sequence
// numbers. Out-of-order segments wait in a small pending list; retransmitted and overlapping bytes
// never overwrite what is already stored (first copy wins). A flow whose SYN was not captured
// starts at the first segment seen and is re-based if an earlier segment shows up later.
import { formatAddress, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpSegment } from './packet.ts';

export const DEFAULT_RETAIN_BYTES = 32 * 1024;
/** How far back (bytes) an earlier segment may re-base a flow whose SYN was not seen. */
const REBASE_LIMIT = 1024 * 1024;
/** Pending out-of-order pieces kept per direction; beyond that they are dropped (and counted). */
const MAX_PENDING = 256;
/** Seen-range intervals kept per direction (holes beyond that are merged away). */
const MAX_INTERVALS = 512;

interface Piece {
  off: number;
  bytes: Buffer;
}

export class Direction {
  /** Sequence number of stream offset 0 (uint32). */
  base = 0;
  baseSet = false;
  /** The base comes from a SYN: the start of the stream is known exactly. */
  baseFromSyn = false;
  /** Highest stream offset + 1 covered by any segment: bytes sent, as the sequence numbers tell. */
  extent = 0;
  /** Payload bytes in all segments, retransmissions included. */
  payloadBytes = 0;
  /** Payload bytes that covered stream offsets already seen (retransmissions, overlaps, duplicates). */
  retransmittedBytes = 0;
  /** Payload bytes the snap length cut from the capture. */
  snappedBytes = 0;
  /** Out-of-order pieces dropped because the pending list was full. */
  droppedPieces = 0;
  segments = 0;
  fin = false;
  private data: Buffer | null = null;
  /** Bytes stored contiguously from offset 0. */
  private contig = 0;
  private pending: Piece[] = [];
  private pendingBytes = 0;
  /** Stream ranges seen, as [start, end) pairs (for exact retransmission and hole counts). */
  private iv: number[] = [];
  private covered = 0;
  private released = false;
  private readonly cap: number;

  constructor(cap: number) {
    this.cap = cap;
  }

  /** The contiguous stream prefix kept for classification (a view, not a copy). */
  prefix(): Buffer {
    return this.data === null ? EMPTY : this.data.subarray(0, this.contig);
  }

  /** The first stored piece after a hole, when the prefix is empty (the first segments were lost). */
  firstPiece(): { off: number; bytes: Buffer } | null {
    return this.pending[0] ?? null;
  }

  /** True when the kept prefix is the whole stream: nothing lost, nothing beyond the cap. */
  prefixIsWholeStream(): boolean {
    return !this.released && this.contig === this.extent && this.snappedBytes === 0;
  }

  /** Drop the stored bytes (after classification); counters keep working. */
  release(): void {
    this.data = null;
    this.pending = [];
    this.pendingBytes = 0;
    this.released = true;
  }

  syn(seq: number): void {
    const isn = (seq + 1) >>> 0;
    if (!this.baseSet) {
      this.base = isn;
      this.baseSet = true;
    } else if (!this.baseFromSyn) {
      const delta = (this.base - isn) | 0;
      if (delta > 0 && delta <= REBASE_LIMIT) this.rebase(delta);
    }
    this.baseFromSyn = true;
  }

  addData(seq: number, src: Buffer, off: number, capLen: number, wireLen: number): void {
    if (wireLen <= 0) return;
    this.segments++;
    this.payloadBytes += wireLen;
    if (capLen < wireLen) this.snappedBytes += wireLen - capLen;
    if (!this.baseSet) {
      this.base = seq;
      this.baseSet = true;
    }
    let rel = (seq - this.base) | 0;
    if (rel < 0) {
      if (!this.baseFromSyn && -rel <= REBASE_LIMIT) {
        // The capture began mid-stream and this segment is older than the first one we saw.
        this.rebase(-rel);
        rel = 0;
      } else {
        // Before the SYN's sequence number (or absurdly far back): keep only what lies after it.
        const skip = -rel;
        this.retransmittedBytes += Math.min(skip, wireLen);
        if (skip >= wireLen) return;
        off += skip;
        capLen = Math.max(0, capLen - skip);
        wireLen -= skip;
        rel = 0;
      }
    }
    const end = rel + wireLen;
    this.retransmittedBytes += wireLen - this.cover(rel, end);
    if (end > this.extent) this.extent = end;
    if (this.released || rel >= this.cap) return;
    this.store(rel, src, off, Math.min(capLen, this.cap - rel));
  }

  /**
   * Marks [s, e) as seen; returns how many of those bytes were new. Intervals are kept sorted and
   * merged, so a normal flow has one; a flow with many holes is capped (the closest two merge).
   */
  private cover(s: number, e: number): number {
    const iv = this.iv;
    const n = iv.length;
    if (n === 0 || s > iv[n - 1]!) {
      iv.push(s, e);
    } else if (s === iv[n - 1]!) {
      iv[n - 1] = e; // the common case: the next in-order segment
    } else {
      // General case: merge [s, e) with every interval it touches.
      let added = e - s;
      let i = 0;
      while (i < iv.length && iv[i + 1]! < s) i += 2;
      let j = i;
      let ns = s;
      let ne = e;
      while (j < iv.length && iv[j]! <= e) {
        added -= Math.max(0, Math.min(e, iv[j + 1]!) - Math.max(s, iv[j]!));
        ns = Math.min(ns, iv[j]!);
        ne = Math.max(ne, iv[j + 1]!);
        j += 2;
      }
      iv.splice(i, j - i, ns, ne);
      this.covered += added;
      this.capIntervals();
      return added;
    }
    this.covered += e - s;
    this.capIntervals();
    return e - s;
  }

  private capIntervals(): void {
    if (this.iv.length <= MAX_INTERVALS * 2) return;
    let best = 2;
    for (let k = 4; k < this.iv.length; k += 2) {
      if (this.iv[k]! - this.iv[k - 1]! < this.iv[best]! - this.iv[best - 1]!) best = k;
    }
    // Forget the smallest hole: its bytes will count as seen (an under-count of missing bytes).
    this.covered += this.iv[best]! - this.iv[best - 1]!;
    this.iv.splice(best - 1, 2);
  }

  /** Stream bytes below `extent` that no captured segment carried. */
  missingBytes(): number {
    return this.extent - this.covered;
  }

  private store(rel: number, src: Buffer, off: number, len: number): void {
    if (len <= 0) return;
    if (rel <= this.contig) {
      const from = this.contig - rel;
      if (from >= len) return; // already have all of it
      this.ensureCapacity(rel + len);
      src.copy(this.data!, this.contig, off + from, off + len);
      this.contig = rel + len;
      this.drain();
      return;
    }
    // Pieces all lie below the cap, but retransmitted out-of-order pieces overlap: bound the bytes too.
    if (this.pending.length >= MAX_PENDING || this.pendingBytes + len > 2 * this.cap) {
      this.droppedPieces++;
      return;
    }
    this.pendingBytes += len;
    const piece = { off: rel, bytes: Buffer.from(src.subarray(off, off + len)) };
    // Keep the list sorted by offset (pieces mostly arrive in order).
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.off > rel) i--;
    this.pending.splice(i, 0, piece);
  }

  private drain(): void {
    while (this.pending.length > 0 && this.pending[0]!.off <= this.contig) {
      const p = this.pending.shift()!;
      this.pendingBytes -= p.bytes.length;
      const from = this.contig - p.off;
      if (from < p.bytes.length) {
        this.ensureCapacity(p.off + p.bytes.length);
        p.bytes.copy(this.data!, this.contig, from);
        this.contig = p.off + p.bytes.length;
      }
    }
  }

  private ensureCapacity(n: number): void {
    if (this.data !== null && this.data.length >= n) return;
    // Grow by doubling up to the cap: most flows are small, few reach the cap.
    let size = Math.max(this.data?.length ?? 0, 2048);
    while (size < n) size *= 2;
    const next = Buffer.allocUnsafe(Math.min(size, this.cap));
    if (this.data !== null) this.data.copy(next, 0, 0, this.contig);
    this.data = next;
  }

  /** Move offset 0 back by `d` bytes: everything stored shifts to offset + d. */
  private rebase(d: number): void {
    this.base = (this.base - d) >>> 0;
    this.extent += d;
    for (let k = 0; k < this.iv.length; k++) this.iv[k] = this.iv[k]! + d;
    const moved: Piece[] = [];
    if (this.data !== null && this.contig > 0) {
      moved.push({ off: d, bytes: Buffer.from(this.data.subarray(0, this.contig)) });
    }
    for (const p of this.pending) moved.push({ off: p.off + d, bytes: p.bytes });
    this.contig = 0;
    this.pending = [];
    this.pendingBytes = 0;
    for (const p of moved) {
      if (p.off >= this.cap) continue;
      const bytes = p.bytes.subarray(0, this.cap - p.off);
      this.pending.push({ off: p.off, bytes });
      this.pendingBytes += bytes.length;
    }
  }
}

const EMPTY = Buffer.alloc(0);

export class Flow {
  /** 1-based, in order of the first packet. */
  readonly id: number;
  readonly v6: boolean;
  /** Endpoint 0 sent the first packet seen. */
  readonly addr: [string, string];
  readonly port: [number, number];
  /** dirs[0]: endpoint 0 -> endpoint 1. */
  readonly dirs: [Direction, Direction];
  /** Which endpoint sent a SYN without ACK (-1: none seen). */
  synFrom = -1;
  /** Which endpoint sent a SYN+ACK (-1: none seen). */
  synAckFrom = -1;
  rst = false;
  packets = 0;
  firstTs: number;
  lastTs: number;
  /** Both FINs or a RST seen. */
  closed = false;
  /** Set by the owner once it has classified the flow and released its buffers. */
  done: unknown = undefined;
  /** Internal: whether endpoint 0 is the lower of the two in key order. */
  readonly lowIsEnd0: boolean;
  readonly key: string;

  constructor(id: number, key: string, seg: TcpSegment, srcIsLow: boolean, ts: number, cap: number) {
    this.id = id;
    this.key = key;
    this.v6 = seg.v6;
    this.addr = [formatAddress(seg.buf, seg.srcOff, seg.v6), formatAddress(seg.buf, seg.dstOff, seg.v6)];
    this.port = [seg.srcPort, seg.dstPort];
    this.dirs = [new Direction(cap), new Direction(cap)];
    this.lowIsEnd0 = srcIsLow;
    this.firstTs = ts;
    this.lastTs = ts;
  }
}

export interface FlowTableOptions {
  retainBytes?: number;
  /** Called once when a flow closes (both FINs or a RST): classify it and release its buffers here. */
  onClose?: (flow: Flow) => void;
}

export class FlowTable {
  private readonly live = new Map<string, Flow>();
  private readonly all: Flow[] = [];
  private readonly cap: number;
  private readonly onClose: ((flow: Flow) => void) | undefined;

  constructor(opts: FlowTableOptions = {}) {
    this.cap = opts.retainBytes ?? DEFAULT_RETAIN_BYTES;
    this.onClose = opts.onClose;
  }

  /** Every flow, in order of first packet. */
  flows(): readonly Flow[] {
    return this.all;
  }

  add(seg: TcpSegment, ts: number): Flow {
    const key = flowKey(seg);
    const srcIsLow = keySrcIsLow;
    let flow = this.live.get(key);
    const synOnly = (seg.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (flow?.closed && synOnly) {
      // The 4-tuple is reused by a new connection (a new SYN after the old one closed).
      const dir0 = srcIsLow === flow.lowIsEnd0 ? 0 : 1;
      if (flow.synFrom !== dir0 || (seg.seq + 1) >>> 0 !== flow.dirs[dir0].base) flow = undefined;
    }
    if (flow === undefined) {
      flow = new Flow(this.all.length + 1, key, seg, srcIsLow, ts, this.cap);
      this.live.set(key, flow);
      this.all.push(flow);
    }
    const dir = srcIsLow === flow.lowIsEnd0 ? 0 : 1;
    const d = flow.dirs[dir];
    flow.packets++;
    flow.lastTs = ts;
    let dataSeq = seg.seq;
    if (seg.flags & TCP_SYN) {
      if (seg.flags & TCP_ACK) flow.synAckFrom = dir;
      else flow.synFrom = dir;
      d.syn(seg.seq);
      dataSeq = (seg.seq + 1) >>> 0; // data in a SYN (TCP Fast Open) starts after it
    }
    if (seg.payloadLen > 0) d.addData(dataSeq, seg.buf, seg.payloadOff, seg.payloadCapLen, seg.payloadLen);
    if (seg.flags & TCP_FIN) d.fin = true;
    if (seg.flags & TCP_RST) flow.rst = true;
    if (!flow.closed && (flow.rst || (flow.dirs[0].fin && flow.dirs[1].fin))) {
      flow.closed = true;
      this.onClose?.(flow);
    }
    return flow;
  }
}

/**
 * A Map key for the flow's 4-tuple that is the same in both directions, built from 16-bit words
 * (no address formatting per packet). The lower endpoint (address, then port) comes first; which
 * side the source was is left in keySrcIsLow (a module variable: no result object per packet).
 */
let keySrcIsLow = true;

function flowKey(seg: TcpSegment): string {
  const b = seg.buf;
  const n = seg.v6 ? 16 : 4;
  let cmp = b.compare(b, seg.dstOff, seg.dstOff + n, seg.srcOff, seg.srcOff + n);
  if (cmp === 0) cmp = seg.srcPort - seg.dstPort;
  const srcIsLow = cmp <= 0;
  keySrcIsLow = srcIsLow;
  const lo = srcIsLow ? seg.srcOff : seg.dstOff;
  const hi = srcIsLow ? seg.dstOff : seg.srcOff;
  const loPort = srcIsLow ? seg.srcPort : seg.dstPort;
  const hiPort = srcIsLow ? seg.dstPort : seg.srcPort;
  let key: string;
  if (!seg.v6) {
    key = String.fromCharCode(
      b.readUInt16BE(lo),
      b.readUInt16BE(lo + 2),
      loPort,
      b.readUInt16BE(hi),
      b.readUInt16BE(hi + 2),
      hiPort,
    );
  } else {
    key =
      b.toString('latin1', lo, lo + 16) +
      String.fromCharCode(loPort) +
      b.toString('latin1', hi, hi + 16) +
      String.fromCharCode(hiPort, 6);
  }
  return key;
}
