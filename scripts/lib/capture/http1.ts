// HTTP/1.x message walking: request lines, status lines, Location headers, and message bodies
// (Content-Length, chunked) so that keep-alive connections are followed message by message. What
// an `https` path's port 80 may carry is decided from this: only redirects to https://.

const REQUEST_LINE = /^([A-Z][A-Z_-]{2,15}) (\S+) HTTP\/1\.[01]\r?\n/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?\r?\n/;

export function looksLikeRequest(b: Buffer, at = 0): boolean {
  return REQUEST_LINE.test(b.toString('latin1', at, Math.min(b.length, at + 2100)));
}

export function looksLikeResponse(b: Buffer, at = 0): boolean {
  return STATUS_LINE.test(b.toString('latin1', at, Math.min(b.length, at + 512)));
}

export interface Http1Request {
  method: string;
  target: string;
}

export interface Http1Response {
  status: number;
  location?: string;
}

export interface Http1Walk<T> {
  messages: T[];
  /** Bytes consumed by complete messages (the walk stops at the first incomplete or odd one). */
  consumed: number;
  upgrade?: string;
}

interface Parsed {
  start: string;
  headers: Map<string, string>;
  bodyStart: number;
}

function parseHead(s: string, at: number): Parsed | null {
  const end = s.indexOf('\r\n\r\n', at);
  const endLf = end < 0 ? s.indexOf('\n\n', at) : -1;
  if (end < 0 && endLf < 0) return null;
  const headEnd = end >= 0 ? end : endLf;
  const lines = s.slice(at, headEnd).split(/\r?\n/);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
  }
  return { start: lines[0]!, headers, bodyStart: headEnd + (end >= 0 ? 4 : 2) };
}

/** Body end offset, or -1 when it cannot be known from the kept bytes (then the walk stops). */
function bodyEnd(s: string, h: Parsed, noBody: boolean, isResponse: boolean): number {
  if (noBody) return h.bodyStart;
  const te = h.headers.get('transfer-encoding');
  if (te !== undefined && /chunked/i.test(te)) {
    let p = h.bodyStart;
    for (;;) {
      const eol = s.indexOf('\r\n', p);
      if (eol < 0) return -1;
      const size = Number.parseInt(s.slice(p, eol).split(';')[0]!.trim(), 16);
      if (!Number.isFinite(size)) return -1;
      p = eol + 2;
      if (size === 0) {
        // Trailers end with an empty line.
        const t = s.indexOf('\r\n\r\n', p - 2);
        return t < 0 ? -1 : t + 4;
      }
      p += size + 2;
      if (p > s.length) return -1;
    }
  }
  const cl = h.headers.get('content-length');
  if (cl !== undefined) {
    const n = Number(cl);
    if (!Number.isInteger(n) || n < 0) return -1;
    return h.bodyStart + n;
  }
  // A response without length runs to the end of the connection; a request has no body.
  return isResponse ? -1 : h.bodyStart;
}

export function walkRequests(b: Buffer): Http1Walk<Http1Request> {
  const s = b.toString('latin1');
  const out: Http1Walk<Http1Request> = { messages: [], consumed: 0 };
  let at = 0;
  while (at < s.length) {
    const m = REQUEST_LINE.exec(s.slice(at, at + 2100));
    if (!m) break;
    const h = parseHead(s, at);
    out.messages.push({ method: m[1]!, target: m[2]! });
    if (h === null) break;
    const up = h.headers.get('upgrade');
    if (up !== undefined) out.upgrade = up;
    const end = bodyEnd(s, h, false, false);
    if (end < 0 || end > s.length) break;
    at = end;
    out.consumed = end;
  }
  return out;
}

/** `headRequests[i]`: the i-th request was HEAD (its response has no body). */
export function walkResponses(b: Buffer, headRequests: boolean[] = []): Http1Walk<Http1Response> {
  const s = b.toString('latin1');
  const out: Http1Walk<Http1Response> = { messages: [], consumed: 0 };
  let at = 0;
  let n = 0;
  while (at < s.length) {
    const m = STATUS_LINE.exec(s.slice(at, at + 512));
    if (!m) break;
    const status = Number(m[1]);
    const h = parseHead(s, at);
    const res: Http1Response = { status };
    if (h?.headers.has('location')) res.location = h.headers.get('location')!;
    out.messages.push(res);
    if (h === null) break;
    if (status === 101) {
      out.upgrade = h.headers.get('upgrade') ?? 'unknown';
      out.consumed = h.bodyStart;
      break;
    }
    const informational = status >= 100 && status < 200;
    const noBody = informational || status === 204 || status === 304 || headRequests[n] === true;
    if (!informational) n++;
    const end = bodyEnd(s, h, noBody, true);
    if (end < 0 || end > s.length) break;
    at = end;
    out.consumed = end;
  }
  return out;
}
