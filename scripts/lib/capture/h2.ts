// HTTP/2 frame walking for cleartext h2c streams, to tell gRPC from other HTTP/2. Evidence, best
// first: (1) a decoded `content-type: application/grpc...` header (HPACK); (2) gRPC framing in
// DATA frames (1-byte compressed flag + 4-byte length that matches the frame) together with a
// decoded `:path` of the form /package.Service/Method; (3) gRPC framing alone, when HPACK could
// not be decoded (a connection that began before the capture references a dynamic table we never
// saw). (3) is a hint, not proof, and the classifier says so in the flow's detail.
import { type Header, HpackDecoder } from './hpack.ts';

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const DATA = 0;
const HEADERS = 1;
const CONTINUATION = 9;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** Largest frame payload a peer may announce (2^24-1); beyond that the bytes are not HTTP/2. */
const MAX_FRAME = 16777215;
/**
 * When looking for frames inside a stream whose start was not captured, a tighter bound: real
 * stacks keep frames at 16 KiB (the default) up to 1 MiB (Go's server), so a random 24-bit length
 * does not pass for a frame header.
 */
const RESYNC_MAX_FRAME = 1024 * 1024;

export interface H2Info {
  frames: number;
  /** A frame header did not make sense at this offset (-1: none). */
  brokenAt: number;
  headers: Header[];
  hpackError?: string;
  /** Streams whose first DATA frame carried gRPC length-prefixed framing. */
  grpcFramedStreams: number;
  /** Streams with a DATA frame. */
  dataStreams: number;
}

export function startsWithPreface(b: Buffer): boolean {
  return b.length >= H2_PREFACE.length && b.subarray(0, H2_PREFACE.length).equals(H2_PREFACE);
}

/** A plausible frame header at `i`: known type, sane length, and stream 0 only where allowed. */
function plausibleFrame(b: Buffer, i: number, maxLen = MAX_FRAME): boolean {
  if (i + 9 > b.length) return false;
  const len = b.readUIntBE(i, 3);
  const type = b[i + 3]!;
  const flags = b[i + 4]!;
  if (len > maxLen) return false;
  // SETTINGS and PING carry only the ACK flag; a SETTINGS ACK is empty.
  if ((type === 4 || type === 6) && (flags & ~1) !== 0) return false;
  if (type === 4 && flags === 1 && len !== 0) return false;
  const stream = b.readUInt32BE(i + 5) & 0x7fffffff;
  if (type > 9 || len > MAX_FRAME) return false;
  // SETTINGS (4), PING (6), GOAWAY (7) are connection-level; DATA, HEADERS, PRIORITY, RST_STREAM,
  // PUSH_PROMISE, CONTINUATION need a stream; WINDOW_UPDATE may be either.
  if ((type === 4 || type === 6 || type === 7) && stream !== 0) return false;
  if ((type <= 3 || type === 5 || type === 9) && stream === 0) return false;
  if (type === 4 && len % 6 !== 0) return false;
  if (type === 6 && len !== 8) return false;
  if ((type === 3 || type === 8) && len !== 4) return false;
  return true;
}

/** Walks frames from `start` (after the client preface, or 0 for the server side). */
export function walkFrames(b: Buffer, start: number): H2Info {
  const info: H2Info = { frames: 0, brokenAt: -1, headers: [], grpcFramedStreams: 0, dataStreams: 0 };
  const hpack = new HpackDecoder();
  const seenData = new Set<number>();
  let block: Buffer[] = [];
  let i = start;
  while (i + 9 <= b.length) {
    if (!plausibleFrame(b, i)) {
      info.brokenAt = i;
      break;
    }
    const len = b.readUIntBE(i, 3);
    const type = b[i + 3]!;
    const flags = b[i + 4]!;
    const stream = b.readUInt32BE(i + 5) & 0x7fffffff;
    const body = i + 9;
    if (body + len > b.length) break; // cut by the end of the kept prefix
    info.frames++;
    if (type === HEADERS || type === CONTINUATION) {
      let from = body;
      let to = body + len;
      if (type === HEADERS) {
        if (flags & FLAG_PADDED) {
          to -= b[from]!;
          from += 1;
        }
        if (flags & FLAG_PRIORITY) from += 5;
      }
      if (from <= to) block.push(b.subarray(from, to));
      if (flags & FLAG_END_HEADERS) {
        if (info.hpackError === undefined) {
          const whole = block.length === 1 ? block[0]! : Buffer.concat(block);
          const r = hpack.decode(whole, 0, whole.length);
          info.headers.push(...r.headers);
          // Once a block fails the dynamic table is unknown: later blocks would decode wrongly.
          if (r.error !== undefined) info.hpackError = r.error;
        }
        block = [];
      }
    } else if (type === DATA && !seenData.has(stream)) {
      seenData.add(stream);
      info.dataStreams++;
      let from = body;
      let to = body + len;
      if (flags & FLAG_PADDED) {
        to -= b[from]!;
        from += 1;
      }
      const n = to - from;
      if (n >= 5 && b[from]! <= 1) {
        const msg = b.readUInt32BE(from + 1);
        // The message fills this frame exactly, or continues beyond a full-size frame.
        if (msg + 5 === n || (msg + 5 > n && n >= 16384)) info.grpcFramedStreams++;
      }
    }
    i = body + len;
  }
  return info;
}

/** For a stream whose start was not captured: at least `min` consecutive plausible frames from `i`. */
export function frameChainAt(b: Buffer, i: number, min = 3): boolean {
  let n = 0;
  while (plausibleFrame(b, i, RESYNC_MAX_FRAME)) {
    const next = i + 9 + b.readUIntBE(i, 3);
    if (next > b.length) return n >= 1;
    n++;
    if (n >= min) return true;
    i = next;
  }
  return n >= min || (n >= 1 && i === b.length);
}

/** First offset (within the first 16 KiB) where a chain of frames starts, or -1. */
export function findFrameChain(b: Buffer, maxScan = 16 * 1024 + 9): number {
  const limit = Math.min(b.length - 9, maxScan);
  for (let i = 0; i <= limit; i++) if (frameChainAt(b, i)) return i;
  return -1;
}

export function headerValues(headers: Header[], name: string): string[] {
  return headers.filter((h) => h[0] === name).map((h) => h[1]);
}

/** `/package.Service/Method`, the shape of every gRPC request path. */
export const GRPC_PATH = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;
