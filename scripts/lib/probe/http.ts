// HTTP probe: HTTP/1.1 in clear (with Go's and Envoy's ways of refusing it, and the ingress
// redirect), HTTP/1.1 and HTTP/2 over TLS (ALPN decides, as for a real client).
import http2 from 'node:http2';
import net from 'node:net';
import type tls from 'node:tls';
import { isRefusalStatus } from './answer.ts';
import {
  alertOf,
  DEFAULT_TIMEOUT_MS,
  dialObserved,
  dialTls,
  errorText,
  handshakeRefusal,
  observedSession,
  printable,
  type TlsDialOptions,
} from './tls.ts';
import type { Answer, AppAttempt, PlainFact } from './types.ts';

/** Go's net/http answer to plaintext on a TLS port (server.go): a refusal, not plaintext service. */
export const GO_HTTPS_REFUSAL = 'Client sent an HTTP request to an HTTPS server';

export interface HttpResponseFacts {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
  /** The first bytes of the body (evidence, not content). */
  bodySnippet: string;
  protocol: 'HTTP/1.x' | 'h2';
}

export interface HttpRequestSpec {
  method?: string;
  path?: string;
  /** Host header / :authority. */
  host: string;
  headers?: Record<string, string>;
  body?: string;
}

const MAX_READ = 64 * 1024;

function formatRequest(r: HttpRequestSpec): string {
  const body = r.body ?? '';
  const lines = [`${r.method ?? 'GET'} ${r.path ?? '/'} HTTP/1.1`, `Host: ${r.host}`, 'Connection: close'];
  for (const [k, v] of Object.entries(r.headers ?? {})) lines.push(`${k}: ${v}`);
  if (body || (r.method && r.method !== 'GET' && r.method !== 'HEAD'))
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

function parseResponse(raw: Buffer): HttpResponseFacts | null {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end >= 0 ? text.slice(0, end) : text;
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(statusLine);
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const l of headerLines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return {
    status: Number(m[1]),
    statusLine,
    headers,
    bodySnippet: end >= 0 ? text.slice(end + 4, end + 4 + 200) : '',
    protocol: 'HTTP/1.x',
  };
}

/**
 * Writes one HTTP/1.1 request on a connected socket and reads the answer until the server closes
 * (the request says Connection: close) or the deadline. Rejects with the socket error verbatim;
 * resolves null when the server closed without an HTTP answer.
 */
export function http1Exchange(
  sock: net.Socket | tls.TLSSocket,
  req: HttpRequestSpec,
  timeoutMs: number,
): Promise<{ response: HttpResponseFacts | null; raw: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no HTTP answer within ${timeoutMs} ms`)), timeoutMs);
    function finish(err?: unknown) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const raw = Buffer.concat(chunks);
      const response = parseResponse(raw);
      // A complete answer wins over a reset that follows it (Go closes right after its 400).
      if (err && !response) reject(err);
      else resolve({ response, raw: raw.toString('latin1').slice(0, 300) });
    }
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size > MAX_READ) finish();
    });
    sock.once('end', () => finish());
    sock.once('close', () => finish());
    sock.once('error', (e) => finish(e));
    sock.write(formatRequest(req));
  });
}

function connectTcp(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no TCP connection within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** One plaintext HTTP/1.1 request; rejects when there is no HTTP answer. */
export async function plainHttpRequest(o: {
  address: string;
  port: number;
  request: HttpRequestSpec;
  timeoutMs?: number;
}): Promise<HttpResponseFacts> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sock = await connectTcp(o.address, o.port, timeoutMs);
  const { response, raw } = await http1Exchange(sock, o.request, timeoutMs);
  if (!response) {
    throw new Error(
      raw ? `non-HTTP answer: ${JSON.stringify(raw)}` : 'connection closed without an HTTP answer',
    );
  }
  return response;
}

/** A plaintext HTTP/1.1 request and how the port took it. */
export async function plainHttpFact(o: {
  address: string;
  port: number;
  displayPort?: number;
  host: string;
  path?: string;
  timeoutMs?: number;
}): Promise<PlainFact> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = { port: o.port, displayPort: o.displayPort ?? o.port };
  let sock: net.Socket;
  try {
    sock = await connectTcp(o.address, o.port, timeoutMs);
  } catch (e) {
    return { ...base, outcome: 'unreachable', detail: errorText(e) };
  }
  try {
    const { response, raw } = await http1Exchange(sock, { host: o.host, path: o.path }, timeoutMs);
    if (!response) {
      const refusal = raw
        ? `non-HTTP answer: ${printable(Buffer.from(raw.slice(0, 80), 'latin1'))}`
        : 'connection closed without an HTTP answer';
      const firstBytes = raw ? printable(Buffer.from(raw.slice(0, 80), 'latin1')) : '(nothing)';
      return (
        (await h2cFact(o, base, timeoutMs, refusal)) ?? {
          ...base,
          outcome: 'refused',
          detail: refusal,
          firstBytes,
        }
      );
    }
    const detail = `${response.statusLine}${response.bodySnippet ? ` ${JSON.stringify(response.bodySnippet.trim())}` : ''}`;
    const firstBytes = printable(Buffer.from(raw.slice(0, 80), 'latin1'));
    // Go's 400 "Client sent an HTTP request to an HTTPS server", nginx's 400 "The plain HTTP
    // request was sent to HTTPS port" and any other refusal status turn plaintext away.
    if (isRefusalStatus(response.status)) {
      return { ...base, outcome: 'refused', detail, status: response.status, firstBytes };
    }
    const location = response.headers.location;
    if ([301, 302, 307, 308].includes(response.status) && location?.startsWith('https://')) {
      return { ...base, outcome: 'redirected', detail, status: response.status, location, firstBytes };
    }
    return {
      ...base,
      outcome: 'served',
      detail,
      status: response.status,
      firstBytes,
      ...(location ? { location } : {}),
    };
  } catch (e) {
    const refusal = errorText(e);
    return (await h2cFact(o, base, timeoutMs, refusal)) ?? { ...base, outcome: 'refused', detail: refusal };
  }
}

/**
 * A port that does not speak HTTP/1.1 in clear may still serve HTTP/2 in clear (h2c with prior
 * knowledge): without this second try such a server would pass as "plaintext refused".
 */
async function h2cFact(
  o: { address: string; port: number; host: string; path?: string },
  base: { port: number; displayPort: number },
  timeoutMs: number,
  http1Refusal: string,
): Promise<PlainFact | undefined> {
  let sock: net.Socket;
  try {
    sock = await connectTcp(o.address, o.port, timeoutMs);
  } catch {
    return undefined;
  }
  try {
    const r = await h2Exchange(sock, { host: o.host, path: o.path }, timeoutMs);
    return {
      ...base,
      outcome: 'served',
      detail: `HTTP/1.1: ${http1Refusal}; h2c (prior knowledge): ${r.statusLine}`,
      status: r.status,
    };
  } catch {
    return undefined;
  }
}

/** An HTTP/2 request on an already connected socket: TLS with ALPN h2, or clear (h2c). */
function h2Exchange(
  sock: net.Socket | tls.TLSSocket,
  req: HttpRequestSpec,
  timeoutMs: number,
): Promise<HttpResponseFacts> {
  return new Promise((resolve, reject) => {
    let done = false;
    const scheme = 'encrypted' in sock && sock.encrypted ? 'https' : 'http';
    const session = http2.connect(`${scheme}://${req.host}`, { createConnection: () => sock });
    const timer = setTimeout(() => finish(new Error(`no HTTP/2 answer within ${timeoutMs} ms`)), timeoutMs);
    function finish(err: unknown, value?: HttpResponseFacts) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      sock.destroy();
      if (value) resolve(value);
      else reject(err);
    }
    session.on('error', (e) => finish(e));
    sock.on('error', (e) => finish(e));
    const headers: http2.OutgoingHttpHeaders = {
      ':method': req.method ?? 'GET',
      ':path': req.path ?? '/',
      ':authority': req.host,
      ...req.headers,
    };
    const stream = session.request(headers, { endStream: !req.body });
    if (req.body) stream.end(req.body);
    let status = 0;
    const resHeaders: Record<string, string> = {};
    let body = '';
    stream.on('response', (h) => {
      status = Number(h[':status']);
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':')) resHeaders[k] = String(v);
    });
    stream.on('data', (d: Buffer) => {
      if (body.length < 200) body += d.toString('latin1');
    });
    stream.on('end', () =>
      finish(null, {
        status,
        statusLine: `HTTP/2 ${status}`,
        headers: resHeaders,
        bodySnippet: body.slice(0, 200),
        protocol: 'h2',
      }),
    );
    stream.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error('connection closed before an HTTP/2 answer')));
  });
}

export interface TlsHttpOptions extends TlsDialOptions {
  request: Omit<HttpRequestSpec, 'host'> & { host?: string };
}

/** One HTTP request over TLS; HTTP/2 when ALPN picks h2, HTTP/1.1 otherwise. */
export async function httpsRequest(o: TlsHttpOptions): Promise<HttpResponseFacts> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sock = await dialTls({ ...o, alpn: o.alpn ?? ['h2', 'http/1.1'] });
  const req = { ...o.request, host: o.request.host ?? o.serverName };
  if (sock.alpnProtocol === 'h2') return h2Exchange(sock, req, timeoutMs);
  const { response, raw } = await http1Exchange(sock, req, timeoutMs);
  if (!response) {
    throw new Error(
      raw ? `non-HTTP answer over TLS: ${JSON.stringify(raw)}` : 'connection closed without an HTTP answer',
    );
  }
  return response;
}

/**
 * Whether the server answers an HTTP request over TLS with these credentials, with the layered
 * answer: the TLS session (and whether a client certificate was requested), then the HTTP status or
 * how the connection ended. An error status (400, 403, 495, 496, 5xx, ...) is a refusal.
 */
export async function httpsAttempt(o: TlsHttpOptions): Promise<AppAttempt> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const d = await dialObserved({ ...o, alpn: o.alpn ?? ['h2', 'http/1.1'] });
  if (!d.socket)
    return { accepted: false, detail: d.error ?? 'no TLS handshake', answer: handshakeRefusal(d) };
  const sock = d.socket;
  const tls = observedSession(d);
  const req = { ...o.request, host: o.request.host ?? o.serverName };
  let answer: Answer;
  let detail: string;
  try {
    let r: HttpResponseFacts;
    if (sock.alpnProtocol === 'h2') r = await h2Exchange(sock, req, timeoutMs);
    else {
      const x = await http1Exchange(sock, req, timeoutMs);
      if (!x.response) {
        const firstBytes = x.raw ? printable(Buffer.from(x.raw.slice(0, 80), 'latin1')) : '(nothing)';
        throw Object.assign(
          new Error(
            x.raw ? `non-HTTP answer over TLS: ${firstBytes}` : 'connection closed without an HTTP answer',
          ),
          { firstBytes },
        );
      }
      r = x.response;
    }
    const refused = isRefusalStatus(r.status);
    const body = r.bodySnippet.trim().slice(0, 80);
    answer = {
      outcome: refused ? 'refused' : 'answered',
      layer: 'http',
      tls,
      status: r.statusLine,
      ...(refused ? { firstBytes: JSON.stringify(body) } : {}),
    };
    detail = refused
      ? `${r.statusLine} (${r.protocol})${body ? ` ${JSON.stringify(body)}` : ''}`
      : `${r.statusLine} (${r.protocol})`;
  } catch (e) {
    const error = errorText(e);
    const alert = alertOf(error);
    // An alert after the handshake (TLS 1.3 sends "certificate required" only once the client
    // finished), a reset on the first write, or a close after the request.
    answer = {
      outcome: 'refused',
      layer: alert ? 'tls' : 'http',
      tls,
      error,
      firstBytes: (e as { firstBytes?: string }).firstBytes ?? '(nothing)',
      ...(alert ? { alert } : {}),
    };
    detail = error;
  }
  sock.destroy();
  return { accepted: answer.outcome === 'answered', detail, answer };
}
