// HPACK (RFC 7541) header block decoder with the static table, the dynamic table and Huffman
// strings: what it takes to read `content-type: application/grpc` from an h2c stream, because
// gRPC stacks (nghttp2 in Node, Go's x/net/http2) Huffman-code header values whenever shorter.
// The Huffman code of RFC 7541 Appendix B is canonical (codes of one length are consecutive, in
// symbol order), so the 257 code lengths below define it completely; the codes are rebuilt from
// them at load time and checked against the EOS code the RFC gives (30 ones).

/** Code length in bits of symbols 0..255, then EOS (256): RFC 7541 Appendix B. */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const MAX_LEN = 30;
/** firstCode[len]: the code of the first symbol of that length; count[len]; symbols ordered by (len, symbol). */
const firstCode = new Int32Array(MAX_LEN + 2);
const countOf = new Int32Array(MAX_LEN + 2);
const offsetOf = new Int32Array(MAX_LEN + 2);
const symbols = new Uint16Array(257);

(function buildCanonical() {
  if (CODE_LENGTHS.length !== 257) throw new Error('hpack: Huffman table must have 257 lengths');
  for (const l of CODE_LENGTHS) countOf[l]!++;
  let code = 0;
  let off = 0;
  for (let len = 1; len <= MAX_LEN; len++) {
    firstCode[len] = code;
    offsetOf[len] = off;
    off += countOf[len]!;
    code = (code + countOf[len]!) << 1;
  }
  const fill = Int32Array.from(offsetOf);
  for (let s = 0; s < 257; s++) symbols[fill[CODE_LENGTHS[s]!]!++] = s;
  // EOS is the last 30-bit code: all ones. Anything else means the table above is wrong.
  const eosCode = firstCode[30]! + countOf[30]! - 1;
  if (eosCode !== 0x3fffffff || symbols[offsetOf[30]! + countOf[30]! - 1] !== 256) {
    throw new Error('hpack: Huffman code lengths do not form the RFC 7541 code');
  }
})();

export class HpackError extends Error {
  override name = 'HpackError';
}

/** Decodes a Huffman-coded string (RFC 7541 5.2): padding must be a prefix of EOS, at most 7 bits. */
export function huffmanDecode(b: Buffer, from: number, to: number): string {
  let out = '';
  let code = 0;
  let len = 0;
  for (let i = from; i < to; i++) {
    const byte = b[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      const idx = code - firstCode[len]!;
      if (idx < countOf[len]!) {
        const sym = symbols[offsetOf[len]! + idx]!;
        if (sym === 256) throw new HpackError('Huffman string contains EOS');
        out += String.fromCharCode(sym);
        code = 0;
        len = 0;
      } else if (len >= MAX_LEN) {
        throw new HpackError('invalid Huffman code');
      }
    }
  }
  if (len > 7 || code !== (1 << len) - 1) throw new HpackError('invalid Huffman padding');
  return out;
}

const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

export type Header = [name: string, value: string];

export interface HpackResult {
  headers: Header[];
  /** Why decoding stopped early (the headers before that point are still returned). */
  error?: string;
}

/** One direction's decoding context (each direction of an HTTP/2 connection has its own table). */
export class HpackDecoder {
  private table: Header[] = []; // newest first
  private size = 0;
  private maxSize = 4096;

  decode(b: Buffer, from: number, to: number): HpackResult {
    const headers: Header[] = [];
    let p = from;
    try {
      while (p < to) {
        const c = b[p]!;
        if (c & 0x80) {
          const [idx, q] = readInt(b, p, to, 7);
          p = q;
          headers.push(this.entry(idx));
        } else if ((c & 0xc0) === 0x40) {
          const [h, q] = this.literal(b, p, to, 6);
          p = q;
          headers.push(h);
          this.insert(h);
        } else if ((c & 0xe0) === 0x20) {
          const [size, q] = readInt(b, p, to, 5);
          p = q;
          this.maxSize = size;
          this.evict();
        } else {
          // 0000xxxx without indexing, 0001xxxx never indexed: same shape.
          const [h, q] = this.literal(b, p, to, 4);
          p = q;
          headers.push(h);
        }
      }
    } catch (e) {
      return { headers, error: e instanceof Error ? e.message : String(e) };
    }
    return { headers };
  }

  private entry(idx: number): Header {
    if (idx === 0) throw new HpackError('index 0');
    if (idx <= STATIC.length) {
      const s = STATIC[idx - 1]!;
      return [s[0], s[1]];
    }
    const d = this.table[idx - STATIC.length - 1];
    if (d === undefined) {
      throw new HpackError(
        `dynamic table entry ${idx} unknown (the connection may have begun before the capture)`,
      );
    }
    return [d[0], d[1]];
  }

  private literal(b: Buffer, p: number, to: number, prefix: number): [Header, number] {
    const [idx, q] = readInt(b, p, to, prefix);
    let name: string;
    let r = q;
    if (idx === 0) {
      const [n, r2] = readString(b, r, to);
      name = n;
      r = r2;
    } else {
      name = this.entry(idx)[0];
    }
    const [value, r3] = readString(b, r, to);
    return [[name, value], r3];
  }

  private insert(h: Header): void {
    this.table.unshift(h);
    this.size += h[0].length + h[1].length + 32;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.table.length > 0) {
      const h = this.table.pop()!;
      this.size -= h[0].length + h[1].length + 32;
    }
  }
}

function readInt(b: Buffer, p: number, to: number, prefix: number): [number, number] {
  const mask = (1 << prefix) - 1;
  let v = b[p]! & mask;
  p++;
  if (v < mask) return [v, p];
  let shift = 0;
  for (;;) {
    if (p >= to) throw new HpackError('truncated integer');
    const c = b[p++]!;
    v += (c & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(c & 0x80)) break;
    if (shift > 28) throw new HpackError('integer too large');
  }
  return [v, p];
}

function readString(b: Buffer, p: number, to: number): [string, number] {
  if (p >= to) throw new HpackError('truncated string');
  const huff = (b[p]! & 0x80) !== 0;
  const [len, q] = readInt(b, p, to, 7);
  if (q + len > to) throw new HpackError('truncated string');
  return [huff ? huffmanDecode(b, q, q + len) : b.toString('latin1', q, q + len), q + len];
}
