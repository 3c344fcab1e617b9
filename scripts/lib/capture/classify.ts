// Classifies one TCP flow by its CONTENT (never by port): TLS, HTTP/1, h2c, gRPC in clear,
// Postgres, plaintext-unknown, binary-unknown, empty. Input: the kept prefix of each direction
// (client->server and server->client) and the byte totals. Anchored detectors look at the start of
// the stream; when the start was not captured (no SYN, or a hole), resync detectors look for
// record/frame/message chains inside the data instead.
import type { FlowClass } from '../evidence/types.ts';
import { findFrameChain, GRPC_PATH, type H2Info, headerValues, startsWithPreface, walkFrames } from './h2.ts';
import { looksLikeRequest, looksLikeResponse, walkRequests, walkResponses } from './http1.ts';
import { pgFirstMessage, pgMessageChain } from './postgres.ts';
import {
  alertName,
  findRecordChain,
  parseClientHello,
  parseServerHello,
  type RecordWalk,
  tlsVersionName,
  walkRecords,
} from './tls.ts';

export interface StreamView {
  /** Kept bytes of this direction. */
  data: Buffer;
  /** Stream bytes sent in this direction (from sequence numbers). */
  total: number;
  /** `data` begins at the first captured byte of the stream (false: a hole before it). */
  fromStart: boolean;
  /** `data` is the whole stream (nothing beyond the retention cap, nothing lost). */
  whole: boolean;
}

export interface Classification {
  class: FlowClass;
  plaintextBytes: number;
  tlsVersion?: string;
  sni?: string;
  alpn?: string[];
  applicationData?: boolean;
  httpStatuses?: number[];
  httpsRedirectOnly?: boolean;
  detail: string;
}

/** Classes that carry application bytes in clear. `binary-unknown` is not among them: it is unproven either way. */
export const PLAINTEXT_CLASSES: ReadonlySet<FlowClass> = new Set<FlowClass>([
  'http1',
  'h2c',
  'grpc-clear',
  'postgres',
  'plaintext-unknown',
]);

/** At least this share of printable ASCII bytes makes unknown content "plaintext". */
export const PRINTABLE_THRESHOLD = 0.85;
/** How far into a stream the resync detectors look for a record/frame chain. */
const RESYNC_SCAN = 16 * 1024 + 5;

/**
 * `midstream`: no SYN was captured, so the first captured byte need not be the first byte of an
 * application message; record/frame/message chains are then also looked for inside the data.
 */
export function classifyFlow(c: StreamView, s: StreamView, midstream = false): Classification {
  if (c.total === 0 && s.total === 0) return { class: 'empty', plaintextBytes: 0, detail: 'no payload' };
  const all = c.total + s.total;
  const anchored = classifyAnchored(c, s, all);
  if (anchored !== null) return anchored;
  const resynced = midstream || !c.fromStart || !s.fromStart ? classifyResync(c, s, all) : null;
  if (resynced !== null) return resynced;
  return byBytes(c, s, all, '');
}

function classifyAnchored(c: StreamView, s: StreamView, all: number): Classification | null {
  const cd = c.fromStart ? c.data : EMPTY;
  const sd = s.fromStart ? s.data : EMPTY;
  // Postgres SSLRequest/GSSENCRequest: the answer byte decides what follows.
  const pg = pgFirstMessage(cd);
  if (pg !== null && (pg.kind === 'ssl-request' || pg.kind === 'gssenc-request')) {
    return postgresNegotiation(c, s, pg.kind, all);
  }
  const tls = classifyTls(cd, sd, c, s, all, false);
  if (tls !== null) return tls;
  if (startsWithPreface(cd))
    return classifyH2(walkFrames(cd, 24), walkFrames(sd, 0), all, 'HTTP/2 client preface');
  if (looksLikeRequest(cd) || looksLikeResponse(sd)) return classifyHttp1(cd, sd, s, all, '');
  if (pg !== null) return postgresPlain(pg, all, '');
  return null;
}

function classifyResync(c: StreamView, s: StreamView, all: number): Classification | null {
  const note = 'start of the connection not captured';
  // TLS: a chain of well-formed records inside each non-empty direction.
  const cAt = c.data.length ? findRecordChain(c.data, RESYNC_SCAN) : -1;
  const sAt = s.data.length ? findRecordChain(s.data, RESYNC_SCAN) : -1;
  const cOk = c.data.length === 0 || cAt >= 0;
  const sOk = s.data.length === 0 || sAt >= 0;
  if (cOk && sOk && (cAt >= 0 || sAt >= 0)) {
    const t = classifyTls(
      cAt >= 0 ? c.data.subarray(cAt) : EMPTY,
      sAt >= 0 ? s.data.subarray(sAt) : EMPTY,
      c,
      s,
      all,
      true,
    );
    if (t !== null) return t;
  }
  // HTTP/2 frames (a long-lived gRPC connection is the typical case here).
  const cH2 = findFrameChain(c.data);
  const sH2 = findFrameChain(s.data);
  if ((cH2 >= 0 || c.data.length === 0) && (sH2 >= 0 || s.data.length === 0) && (cH2 >= 0 || sH2 >= 0)) {
    return classifyH2(
      walkFrames(c.data, Math.max(cH2, 0)),
      walkFrames(s.data, Math.max(sH2, 0)),
      all,
      `HTTP/2 frames (${note})`,
    );
  }
  const http = findHttp1(c.data, s.data);
  if (http !== null) return classifyHttp1(http.c, http.s, s, all, ` (${note})`);
  if (pgMessageChain(c.data, 0, 'client') || pgMessageChain(s.data, 0, 'server')) {
    return { class: 'postgres', plaintextBytes: all, detail: `Postgres messages in clear (${note})` };
  }
  return null;
}

function postgresNegotiation(
  c: StreamView,
  s: StreamView,
  kind: 'ssl-request' | 'gssenc-request',
  all: number,
): Classification {
  const what = kind === 'ssl-request' ? 'SSLRequest' : 'GSSENCRequest';
  const answer = s.fromStart && s.data.length > 0 ? String.fromCharCode(s.data[0]!) : '';
  if (answer === 'S' || answer === 'G') {
    const rest: StreamView = { ...c, data: c.data.subarray(8), total: Math.max(0, c.total - 8) };
    const srest: StreamView = { ...s, data: s.data.subarray(1), total: Math.max(0, s.total - 1) };
    if (answer === 'S') {
      const t = classifyTls(rest.data, srest.data, rest, srest, all - 9, false);
      if (t !== null) return { ...t, detail: `Postgres ${what} accepted ('S'), then ${t.detail}` };
      // Accepted, but what followed is not TLS: judge what followed on its own.
      const r = byBytes(rest, srest, all - 9, `Postgres ${what} accepted ('S') but no TLS followed; `);
      return r.class === 'plaintext-unknown' ? { ...r, class: 'postgres' } : r;
    }
    return {
      class: 'binary-unknown',
      plaintextBytes: 0,
      detail: `Postgres GSSENCRequest accepted ('G'): GSSAPI-encrypted, not TLS`,
    };
  }
  const next = pgFirstMessage(c.data, 8);
  if (answer === 'N') {
    if (next?.kind === 'startup') {
      return postgresPlain(next, all, `Postgres ${what} refused ('N'), then `);
    }
    return {
      class: 'postgres',
      plaintextBytes: all,
      detail: `Postgres ${what} refused ('N'); the client sent no startup in clear (it gave up)`,
    };
  }
  return {
    class: 'postgres',
    plaintextBytes: all,
    detail: `Postgres ${what} ${answer === '' ? 'unanswered' : `answered '${answer}'`}`,
  };
}

function postgresPlain(
  pg: NonNullable<ReturnType<typeof pgFirstMessage>>,
  all: number,
  prefix: string,
): Classification {
  let what = 'CancelRequest';
  if (pg.kind === 'startup') {
    const p = pg.params;
    what = `StartupMessage in clear${p.user ? ` (user=${p.user}${p.database ? `, database=${p.database}` : ''})` : ''}`;
  }
  return { class: 'postgres', plaintextBytes: all, detail: `${prefix}${what}` };
}

type Side = 'tls' | 'empty' | 'other';

function side(w: RecordWalk | null, len: number): Side {
  if (len === 0) return 'empty';
  if (w === null || w.brokenAt >= 0 || (w.records === 0 && !w.partialTail)) return 'other';
  return 'tls';
}

function classifyTls(
  cd: Buffer,
  sd: Buffer,
  c: StreamView,
  s: StreamView,
  all: number,
  resync: boolean,
): Classification | null {
  const cw = cd.length ? walkRecords(cd, 0) : null;
  const sw = sd.length ? walkRecords(sd, 0) : null;
  const ch = cw ? parseClientHello(cw.handshake) : null;
  const sh = sw ? parseServerHello(sw.handshake) : null;
  const cs = side(cw, cd.length);
  const ss = side(sw, sd.length);
  if (!resync && ch === null && sh === null) return null;
  if (resync && cs !== 'tls' && ss !== 'tls') return null;
  if (cs === 'other' || ss === 'other') {
    // One side is TLS, the other is not: what the non-TLS side sent is what counts.
    if (ch === null && sh === null) return null;
    const who = cs === 'other' ? 'client' : 'server';
    const hello = ch !== null ? 'the client sent a TLS ClientHello' : 'the server sent a TLS ServerHello';
    const w = cs === 'other' ? cw : sw;
    if (w !== null && w.records > 0 && w.brokenAt > 0) {
      return byBytes(c, s, all, `${hello}, but the ${who}'s TLS records stop at byte ${w.brokenAt}; `);
    }
    const other: StreamView = cs === 'other' ? c : s;
    const empty: StreamView = { data: EMPTY, total: 0, fromStart: true, whole: true };
    const alone =
      cs === 'other'
        ? classifyAnchored(other, empty, other.total)
        : classifyAnchored(empty, other, other.total);
    const base =
      alone ?? byBytes(cs === 'other' ? other : empty, cs === 'other' ? empty : other, other.total, '');
    return {
      ...base,
      plaintextBytes: PLAINTEXT_CLASSES.has(base.class) ? other.total : 0,
      detail: `${hello}; the ${who} answered with non-TLS bytes: ${base.detail}`,
    };
  }
  const out: Classification = { class: 'tls', plaintextBytes: 0, detail: '' };
  const facts: string[] = [];
  if (ch?.sni !== undefined) out.sni = ch.sni;
  if (ch?.alpn !== undefined) out.alpn = ch.alpn;
  let version = 0;
  if (ch !== null) {
    const legacy = tlsVersionName(ch.legacyVersion);
    facts.push(
      ch.supportedVersions.length
        ? `ClientHello offered ${ch.supportedVersions.map(tlsVersionName).join(', ')} (legacy_version ${legacy})`
        : `ClientHello offered up to ${legacy} (no supported_versions)`,
    );
  }
  if (sh !== null) {
    version = sh.version;
    out.tlsVersion = tlsVersionName(version);
    facts.push(`ServerHello selected ${out.tlsVersion}${sh.helloRetryRequest ? ' (HelloRetryRequest)' : ''}`);
    if (sh.alpn !== undefined) facts.push(`ALPN selected ${sh.alpn}`);
  } else if (ch !== null) {
    facts.push('no ServerHello captured');
  } else {
    facts.push('TLS records; handshake not captured');
  }
  if (resync) facts.push('start of the connection not captured');
  // Client certificates are visible only below TLS 1.3 (1.3 encrypts everything after ServerHello).
  if (sw?.handshakeTypes.includes(13)) facts.push('server requested a client certificate');
  if (cw !== null && cw.handshakeTypes.indexOf(11) > 0) facts.push('client sent a certificate');
  for (const [who, w] of [
    ['client', cw],
    ['server', sw],
  ] as const) {
    for (const [level, desc] of w?.alerts ?? []) {
      facts.push(`${who} alert ${level === 2 ? 'fatal ' : ''}${alertName(desc)}`);
    }
  }
  const cApp = cw?.appData ?? [];
  const sApp = sw?.appData ?? [];
  if (version === 0x0304) {
    // TLS 1.3 wraps the client's Finished (and Certificate/CertificateVerify under mTLS) in
    // application-data records too; a lone record of Finished size (53 or 69 bytes with SHA-256 /
    // SHA-384) is the handshake, anything beyond is data. Under mTLS this can over-report.
    out.applicationData = cApp.length >= 2 || (cApp.length === 1 && cApp[0] !== 53 && cApp[0] !== 69);
  } else if (version !== 0 || resync) {
    out.applicationData = cApp.length + sApp.length > 0;
  } else if (cw !== null) {
    out.applicationData = cApp.length > 0;
  }
  if (out.applicationData) facts.push('application data followed');
  const cut = !c.whole || !s.whole;
  if (cut && cw !== null && cw.brokenAt < 0 && sw?.brokenAt !== undefined && sw.brokenAt < 0) {
    // Only a prefix was kept: records beyond it were not checked.
    facts.push('records checked in the kept prefix');
  }
  out.detail = facts.join('; ');
  return out;
}

function classifyH2(ci: H2Info, si: H2Info, all: number, what: string): Classification {
  const headers = [...ci.headers, ...si.headers];
  const ct = headerValues(headers, 'content-type').find((v) => v.startsWith('application/grpc'));
  const path = headerValues(ci.headers, ':path').find((p) => GRPC_PATH.test(p));
  const framed = ci.grpcFramedStreams + si.grpcFramedStreams;
  const hpackError = ci.hpackError ?? si.hpackError;
  if (ct !== undefined) {
    return {
      class: 'grpc-clear',
      plaintextBytes: all,
      detail: `${what}; content-type ${ct} (HPACK-decoded)${path ? `; :path ${path}` : ''}`,
    };
  }
  if (framed > 0 && path !== undefined) {
    return {
      class: 'grpc-clear',
      plaintextBytes: all,
      detail: `${what}; gRPC length-prefixed DATA frames and :path ${path}`,
    };
  }
  if (framed > 0 && hpackError !== undefined) {
    return {
      class: 'grpc-clear',
      plaintextBytes: all,
      detail: `${what}; HINT ONLY: gRPC length-prefixed DATA frames, headers not decodable (${hpackError})`,
    };
  }
  const p = headerValues(ci.headers, ':path')[0];
  return {
    class: 'h2c',
    plaintextBytes: all,
    detail: `${what}${p ? `; :path ${stripQuery(p)}` : ''}${hpackError ? `; HPACK: ${hpackError}` : ''}`,
  };
}

function classifyHttp1(cd: Buffer, sd: Buffer, s: StreamView, all: number, note: string): Classification {
  const req = walkRequests(cd);
  const res = walkResponses(
    sd,
    req.messages.map((m) => m.method === 'HEAD'),
  );
  const out: Classification = { class: 'http1', plaintextBytes: all, detail: '' };
  const facts: string[] = [];
  const first = req.messages[0];
  if (first)
    facts.push(
      `${first.method} ${stripQuery(first.target)}${req.messages.length > 1 ? ` (+${req.messages.length - 1} more)` : ''}`,
    );
  if (res.messages.length) {
    out.httpStatuses = res.messages.map((m) => m.status);
    facts.push(`status ${out.httpStatuses.join(', ')}`);
    // Redirect-only: every response is a 3xx to https://, and those responses are ALL the server
    // sent (the whole stream was kept and fully consumed by them): no content served in clear.
    const allRedirects = res.messages.every(
      (m) => m.status >= 300 && m.status < 400 && m.location !== undefined && /^https:\/\//i.test(m.location),
    );
    out.httpsRedirectOnly = allRedirects && s.whole && s.fromStart && res.consumed === s.total;
    if (out.httpsRedirectOnly) facts.push('only redirects to https://');
  } else {
    out.httpsRedirectOnly = false;
  }
  if (res.upgrade ?? req.upgrade) facts.push(`upgrade to ${res.upgrade ?? req.upgrade}`);
  out.detail = `HTTP/1 ${facts.join('; ')}${note}`;
  return out;
}

function stripQuery(target: string): string {
  // A query string may carry tokens: the report never prints it.
  const q = target.indexOf('?');
  const t = q >= 0 ? `${target.slice(0, q)}?…` : target;
  return t.length > 120 ? `${t.slice(0, 120)}…` : t;
}

function findHttp1(c: Buffer, s: Buffer): { c: Buffer; s: Buffer } | null {
  const re = /(?:^|\n)([A-Z][A-Z_-]{2,15} \S+ HTTP\/1\.[01]\r?\n|HTTP\/1\.[01] \d{3}[ \r\n])/;
  const at = (b: Buffer) => {
    const m = re.exec(b.toString('latin1', 0, Math.min(b.length, RESYNC_SCAN)));
    if (!m) return -1;
    return m.index + (m[0].startsWith('\n') ? 1 : 0);
  };
  const ca = at(c);
  const sa = at(s);
  if (ca < 0 && sa < 0) return null;
  return { c: ca >= 0 ? c.subarray(ca) : EMPTY, s: sa >= 0 ? s.subarray(sa) : EMPTY };
}

/** Printable ASCII share (tab, CR, LF count as printable). */
export function printableRatio(...bufs: Buffer[]): number {
  let n = 0;
  let p = 0;
  for (const b of bufs) {
    n += b.length;
    for (let i = 0; i < b.length; i++) {
      const x = b[i]!;
      if ((x >= 0x20 && x < 0x7f) || x === 9 || x === 10 || x === 13) p++;
    }
  }
  return n === 0 ? 0 : p / n;
}

/** Shannon entropy in bits per byte. */
export function entropy(...bufs: Buffer[]): number {
  const counts = new Uint32Array(256);
  let n = 0;
  for (const b of bufs) {
    n += b.length;
    for (let i = 0; i < b.length; i++) counts[b[i]!]!++;
  }
  if (n === 0) return 0;
  let h = 0;
  for (const k of counts) {
    if (k === 0) continue;
    const q = k / n;
    h -= q * Math.log2(q);
  }
  return h;
}

function byBytes(c: StreamView, s: StreamView, all: number, prefix: string): Classification {
  const ratio = printableRatio(c.data, s.data);
  const pct = Math.round(ratio * 100);
  if (c.data.length + s.data.length > 0 && ratio >= PRINTABLE_THRESHOLD) {
    return { class: 'plaintext-unknown', plaintextBytes: all, detail: `${prefix}${pct}% printable bytes` };
  }
  const h = entropy(c.data, s.data);
  const kept = c.data.length + s.data.length;
  // Entropy of a small sample is bounded by log2(sample size): compare with what it could reach.
  const ceiling = Math.min(8, Math.log2(Math.max(kept, 2)));
  const look =
    kept === 0
      ? 'none of its bytes were captured'
      : h >= 0.9 * ceiling
        ? 'high entropy: encrypted or compressed, but not TLS'
        : 'low entropy: likely a binary protocol in clear';
  return {
    class: 'binary-unknown',
    plaintextBytes: 0,
    detail: `${prefix}${pct}% printable, ${h.toFixed(2)} bits/byte (${look}); not TLS, not counted as plaintext`,
  };
}

const EMPTY = Buffer.alloc(0);
