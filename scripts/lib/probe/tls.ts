// TLS handshake facts: negotiated version, peer certificate, the dialled name in its SANs, its
// validity window, its chain to the profile CA, and whether TLS 1.0/1.1 are still accepted.
// Every dial has a deadline; errors are kept verbatim.
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { sanMatches } from '../chart/consistency.ts';
import {
  ObservedStream,
  type ServerFlightFacts,
  serverFlightFacts,
  serverHandshakeSecretOf,
} from './observe.ts';
import type {
  Answer,
  FactCheck,
  HandshakeFacts,
  KeyPairPem,
  LegacyFact,
  PeerCertFacts,
  TlsSessionFacts,
} from './types.ts';

export const DEFAULT_TIMEOUT_MS = 3000;

export interface TlsDialOptions {
  address: string;
  port: number;
  serverName: string;
  ca?: string;
  clientCert?: KeyPairPem;
  alpn?: string[];
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  ciphers?: string;
  /** true: verify chain and name like a real client (connection fails otherwise). */
  verify?: boolean;
  timeoutMs?: number;
  /** Run TLS over this stream instead of a fresh TCP connection (dialObserved). */
  socket?: Duplex;
  /** Node's 'keylog' lines of this connection (dialObserved reads the handshake secret). */
  onKeylog?: (line: Buffer) => void;
}

/** Node's error text, with the OpenSSL code when it adds one (kept verbatim). */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const msg = e.message.trim();
    return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  return String(e);
}

const contexts = new Map<string, tls.SecureContext>();

/**
 * Client secure contexts, cached per credential set: parsing a key and a CA costs about a
 * millisecond, and a lab run dials the same credentials dozens of times.
 */
function secureContext(o: TlsDialOptions): tls.SecureContext {
  const key = JSON.stringify([
    o.ca,
    o.clientCert?.cert,
    o.clientCert?.key,
    o.minVersion,
    o.maxVersion,
    o.ciphers,
  ]);
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = tls.createSecureContext({
      // Without a CA Node would trust its bundled roots; a probe trusts only what it is given.
      ca: o.ca ?? [],
      ...(o.clientCert ? { cert: o.clientCert.cert, key: o.clientCert.key } : {}),
      ...(o.minVersion ? { minVersion: o.minVersion } : {}),
      ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
      ...(o.ciphers ? { ciphers: o.ciphers } : {}),
    });
    if (contexts.size > 256) contexts.clear();
    contexts.set(key, ctx);
  }
  return ctx;
}

/** Resolves with the connected socket once the handshake finished; rejects with the error. */
export function dialTls(o: TlsDialOptions): Promise<tls.TLSSocket> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const opts: tls.ConnectionOptions = {
      host: o.address,
      port: o.port,
      // SNI needs a host name; the address is an IP (no DNS).
      servername: net.isIP(o.serverName) ? undefined : o.serverName,
      rejectUnauthorized: o.verify ?? false,
      ALPNProtocols: o.alpn,
      secureContext: secureContext(o),
      ...(o.socket ? { socket: o.socket } : {}),
    };
    if (o.verify) {
      // The dialled name is checked against the certificate (not the IP we connect to), the way
      // the Go clients of Direktiv check it.
      opts.checkServerIdentity = (_host, cert) => goCheckServerIdentity(o.serverName, cert);
    } else {
      opts.checkServerIdentity = () => undefined;
    }
    let settled = false;
    const sock = tls.connect(opts);
    if (o.onKeylog) sock.on('keylog', o.onKeylog);
    const timer = setTimeout(() => {
      fail(new Error(`no TLS handshake within ${timeoutMs} ms`));
    }, timeoutMs);
    function fail(e: unknown) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    }
    sock.once('secureConnect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', fail);
    sock.once('close', () => fail(new Error('connection closed during the TLS handshake')));
  });
}

/** The TLS alert named in an OpenSSL error text ("tlsv13 alert certificate required"), if any. */
export function alertOf(error: string): string | undefined {
  const m = /(?:sslv3|tlsv1[0-3]?) alert ([a-z ]+?)(?::|\)|$)/i.exec(error);
  return m?.[1]?.trim();
}

/** The session facts of a connected socket. */
function sessionOf(sock: tls.TLSSocket): TlsSessionFacts {
  return {
    version: sock.getProtocol() ?? undefined,
    cipher: sock.getCipher()?.standardName,
    alpn: sock.alpnProtocol || null,
  };
}

/** The session of an observed dial, with whether a client certificate was requested. */
export function observedSession(d: ObservedDial): TlsSessionFacts {
  const s: TlsSessionFacts = { ...(d.session ?? {}) };
  const requested = d.flight().certificateRequested;
  if (requested !== undefined) s.certificateRequested = requested;
  return s;
}

export interface ObservedDial {
  socket?: tls.TLSSocket;
  /** Version, cipher and ALPN, taken when the handshake completed (a server may close right after). */
  session?: TlsSessionFacts;
  error?: string;
  /** What the server sent in the handshake (read at call time: later bytes count too). */
  flight(): ServerFlightFacts;
}

/**
 * A TLS dial whose server side is observed (probe/observe.ts): never rejects; the error, if any,
 * is kept verbatim, with the TCP error when the connection itself failed.
 */
export async function dialObserved(o: TlsDialOptions): Promise<ObservedDial> {
  const tcp = net.connect({ host: o.address, port: o.port });
  let tcpError: string | undefined;
  tcp.once('error', (e) => {
    tcpError = errorText(e);
  });
  const stream = new ObservedStream(tcp);
  let secret: string | undefined;
  const flight = () => serverFlightFacts(stream.bytes(), secret);
  const onKeylog = (line: Buffer) => {
    secret ??= serverHandshakeSecretOf(line);
  };
  try {
    const socket = await dialTls({ ...o, socket: stream, onKeylog });
    return { socket, session: sessionOf(socket), flight };
  } catch (e) {
    tcp.destroy();
    return { error: tcpError ?? errorText(e), flight };
  }
}

/** The Answer of a TLS dial that failed in the handshake (or before it). */
export function handshakeRefusal(d: ObservedDial): Answer {
  const error = d.error ?? 'no TLS handshake';
  const f = d.flight();
  const unreachable =
    /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|no TLS handshake within/.test(error) && !f.firstBytes;
  const a: Answer = {
    outcome: unreachable ? 'unreachable' : 'refused',
    layer: unreachable ? 'tcp' : 'tls',
    error,
    firstBytes: f.firstBytes ? printable(Buffer.from(f.firstBytes, 'hex')) : '(nothing)',
  };
  const alert = alertOf(error) ?? f.alert;
  if (alert) a.alert = alert;
  if (f.certificateRequested !== undefined) a.tls = { certificateRequested: f.certificateRequested };
  return a;
}

/** Bytes for a report: text when they are printable, hex otherwise. */
export function printable(b: Buffer): string {
  const text = b.toString('latin1');
  return /^[\x20-\x7e\r\n\t]*$/.test(text) ? JSON.stringify(text) : b.toString('hex');
}

/** Splits a PEM bundle into certificates. */
export function parseAnchors(pem: string | undefined): X509Certificate[] {
  if (!pem) return [];
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

function peerChain(sock: tls.TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let c: tls.DetailedPeerCertificate | undefined = sock.getPeerCertificate(true);
  while (c?.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

/** A distinguished name on one line; Node gives undefined for an empty one. */
function dn(name: string | undefined): string {
  return name ? name.replace(/\n/g, ', ') : '(empty subject)';
}

/**
 * Whether the presented chain leads to one of the anchors by signature (not just by name), checked
 * apart from time so that an expired certificate reports "expired", not "untrusted".
 */
export function chainFact(chain: X509Certificate[], anchors: X509Certificate[]): FactCheck {
  const leaf = chain[0];
  if (!leaf) return { ok: false, detail: 'the server presented no certificate' };
  if (anchors.length === 0) return { ok: false, detail: 'no CA given: the chain cannot be checked' };
  const signedBy = (c: X509Certificate, by: X509Certificate) => {
    try {
      return c.checkIssued(by) && c.verify(by.publicKey);
    } catch {
      return false;
    }
  };
  let cur = leaf;
  const path: string[] = [];
  for (let depth = 0; depth < 8; depth++) {
    const anchor = anchors.find((a) => a.fingerprint256 === cur.fingerprint256 || signedBy(cur, a));
    if (anchor) {
      const how =
        anchor.fingerprint256 === cur.fingerprint256 ? 'is the trusted certificate' : 'is signed by';
      return { ok: true, detail: `${[...path, dn(cur.subject)].join(' <- ')} ${how} ${dn(anchor.subject)}` };
    }
    const next = chain.find((c) => c !== cur && signedBy(cur, c));
    if (!next) break;
    path.push(dn(cur.subject));
    cur = next;
  }
  return {
    ok: false,
    detail: `issuer "${dn(leaf.issuer)}" does not chain to the profile CA "${anchors
      .map((a) => dn(a.subject))
      .join('" or "')}"`,
  };
}

/** DNS names of a subjectAltName string ("DNS:a, DNS:b, IP Address:..."). */
export function dnsSans(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '')
    .split(/,\s*/)
    .filter((e) => e.startsWith('DNS:'))
    .map((e) => e.slice(4).replace(/^"|"$/g, ''));
}

/**
 * Go crypto/x509 VerifyHostname for a host name: DNS SANs only (Go ignores the CN since 1.15),
 * `*` as a whole left-most label, and unlike Node a two-label wildcard such as `*.default` matches
 * (the page's certificates rely on it, and Direktiv's clients are Go).
 */
export function goCheckServerIdentity(host: string, cert: { subjectaltname?: string }): Error | undefined {
  const sans = dnsSans(cert.subjectaltname);
  if (sans.some((p) => sanMatches(p, host))) return undefined;
  const err = new Error(
    sans.length
      ? `x509: certificate is valid for ${sans.join(', ')}, not ${host}`
      : `x509: certificate has no DNS subjectAltName, not valid for ${host}`,
  ) as NodeJS.ErrnoException;
  err.code = 'ERR_TLS_CERT_ALTNAME_INVALID';
  return err;
}

export function nameFact(serverName: string, sock: tls.TLSSocket): FactCheck {
  const cert = sock.getPeerCertificate();
  const err = goCheckServerIdentity(serverName, cert);
  const sans = cert.subjectaltname ?? '(no subjectAltName)';
  if (err) return { ok: false, detail: err.message };
  return { ok: true, detail: `${serverName} matches ${sans} (Go host matching)` };
}

export function validityFact(cert: X509Certificate, now = new Date()): FactCheck {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) return { ok: false, detail: `not valid before ${from.toISOString()}` };
  if (now > to) return { ok: false, detail: `expired on ${to.toISOString()}` };
  return { ok: true, detail: `valid ${from.toISOString()} .. ${to.toISOString()}` };
}

function peerFacts(cert: X509Certificate): PeerCertFacts {
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    subjectAltName: cert.subjectAltName ?? '',
    validFrom: cert.validFrom,
    validTo: cert.validTo,
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    pem: cert.toString(),
  };
}

/** One modern handshake (TLS 1.2+ as Node offers by default) and the facts it yields. */
export async function handshakeFacts(
  o: TlsDialOptions & { displayPort?: number },
): Promise<{ facts: HandshakeFacts; socket?: tls.TLSSocket }> {
  const base = { port: o.port, displayPort: o.displayPort ?? o.port };
  const d = await dialObserved({ ...o, verify: false });
  if (!d.socket) {
    const facts: HandshakeFacts = { ...base, ok: false, error: d.error ?? 'no TLS handshake' };
    const alert = handshakeRefusal(d).alert;
    if (alert) facts.alert = alert;
    return { facts };
  }
  const sock = d.socket;
  const requested = d.flight().certificateRequested;
  const chain = peerChain(sock);
  const leaf = chain[0];
  const facts: HandshakeFacts = {
    ...base,
    ok: true,
    protocol: sock.getProtocol() ?? undefined,
    alpn: sock.alpnProtocol || null,
    cipher: sock.getCipher()?.standardName,
    authorizationError: sock.authorizationError ? String(sock.authorizationError) : null,
    ...(requested !== undefined ? { certificateRequested: requested } : {}),
    chain: chainFact(chain, parseAnchors(o.ca)),
    name: leaf ? nameFact(o.serverName, sock) : { ok: false, detail: 'no certificate' },
    validity: leaf ? validityFact(leaf) : { ok: false, detail: 'no certificate' },
  };
  if (leaf) facts.peer = peerFacts(leaf);
  return { facts, socket: sock };
}

/**
 * Whether TLS 1.0 and 1.1 are accepted. The client must lower OpenSSL's security level to offer
 * them at all (Node refuses at level 1+); it presents the client certificate so an mTLS server
 * judges the version, not the missing certificate.
 */
export async function legacyFacts(o: TlsDialOptions): Promise<LegacyFact[]> {
  const versions = ['TLSv1', 'TLSv1.1'] as const;
  return Promise.all(
    versions.map(async (version): Promise<LegacyFact> => {
      const d = await dialObserved({
        ...o,
        verify: false,
        alpn: o.alpn,
        minVersion: version,
        maxVersion: version,
        ciphers: 'DEFAULT@SECLEVEL=0',
      });
      if (!d.socket) {
        return {
          version,
          accepted: false,
          detail: d.error ?? 'no TLS handshake',
          answer: handshakeRefusal(d),
        };
      }
      const tls = observedSession(d);
      d.socket.destroy();
      return {
        version,
        accepted: true,
        detail: `handshake completed with ${tls.version}`,
        answer: { outcome: 'answered', layer: 'tls', tls },
      };
    }),
  );
}
