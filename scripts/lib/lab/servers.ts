// The lab's listeners: real TLS, gRPC (grpc-js) and HTTP/1.1 + HTTP/2 servers that behave like the
// Direktiv v0.4.1 servers and the Contour Envoys on each path.
//
// Every listener is a TCP front that owns its sockets and looks at the client's first bytes:
// a TLS record (0x16) goes to the TLS terminator, anything else is plaintext. That is how the lab
// imitates what the real servers do with plaintext on a TLS port: Go's net/http answers
// 400 "Client sent an HTTP request to an HTTPS server" (server.go, tlsRecordHeaderLooksLikeHTTP),
// a Go gRPC server and Envoy just close; and how the "dual port" flaw serves both.
// TLS semantics follow pkg/util/grpc-util.go: mtls -> RequireAndVerifyClientCert with
// ClientCAs = ca.crt; tls -> server TLS only; otherwise plaintext.
// One deliberate difference: grpc-util.go sets no MinVersion, and Go servers before 1.22 (with
// grpc-go 1.36, which adds none either) accept TLS 1.0 and 1.1. The lab keeps Node's TLS 1.2 floor
// so that legacy acceptance is a planted flaw (`legacy-tls`), not the baseline; a real v0.4.1
// cluster may well show it (unverified: it depends on the Go release the images were built with).
//
// Checked against real Go servers (test/peers/lab-vs-go.test.ts: Go crypto/tls with net/http and
// grpc-go v1.78): the same verdict on every probe check, the same 400 text for plaintext, the same
// close for plaintext gRPC and for an h2 preface in clear, the same TLS 1.3 alert "certificate
// required" for a missing client certificate, the same CertificateRequest, and (since that
// comparison) Go's cipher choice. Left different: Go refuses a client certificate from a foreign CA
// with an alert in the handshake ("unknown ca"); the lab closes right after the handshake without
// an alert, because Node's TLS cannot fail certificate verification inside the handshake. Both are
// refusals to the probe. The same holds for RequireAnyClientCert without a certificate (Go: alert
// "certificate required"; lab: a close after the handshake).
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { encodeHealthResponse, HEALTH_CHECK_METHOD } from '../probe/grpc.ts';

/**
 * Go's crypto/tls ClientAuth values the flaws need: require-verify = RequireAndVerifyClientCert,
 * verify-if-given = VerifyClientCertIfGiven (certificate optional), require-any = RequireAnyClientCert
 * (any CA accepted).
 */
export type ClientAuth = 'none' | 'require-verify' | 'verify-if-given' | 'require-any';

export interface TlsServerConfig {
  cert: string;
  key: string;
  /** ClientCAs (ca.crt of the mounted Secret). */
  clientCa?: string;
  clientAuth: ClientAuth;
  /** Accept TLS 1.0 and 1.1 (a planted flaw: Node refuses them by default). */
  legacy?: boolean;
  /** Envoy: only these SNI names match a filter chain; any other SNI fails the handshake. */
  sniHosts?: string[];
  alpn: string[];
}

/** What a TLS-only listener does with plaintext: Go net/http's 400, or close (Go gRPC, Envoy). */
export type PlainReply = 'go-400' | 'close';

export interface ListenerConfig {
  /** Absent: a plaintext listener. */
  tls?: TlsServerConfig;
  /** A TLS listener that also serves plaintext (a planted flaw). */
  acceptPlain?: boolean;
  plainReply: PlainReply;
}

export type HttpHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export type AppServer = { kind: 'grpc'; component: string } | { kind: 'http'; handler: HttpHandler };

/** The first bytes of a request Go's server recognises as HTTP sent to a TLS port. */
const GO_HTTP_PREFIXES = ['GET /', 'HEAD ', 'POST ', 'PUT /', 'OPTIO'];
const GO_400 = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

/** Replays bytes already read from a socket, then forwards: lets a server take over after a peek. */
class Replay extends Duplex {
  constructor(
    private readonly sock: net.Socket,
    head: Buffer,
  ) {
    super();
    this.push(head);
    sock.on('data', (d) => {
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
}

function healthService(component: string): grpc.UntypedServiceImplementation {
  return {
    Check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      void component;
      cb(null, encodeHealthResponse(1));
    },
  };
}

const HEALTH_DEFINITION: grpc.ServiceDefinition = {
  Check: {
    path: HEALTH_CHECK_METHOD,
    requestStream: false,
    responseStream: false,
    requestSerialize: (x: Buffer) => x,
    requestDeserialize: (x: Buffer) => x,
    responseSerialize: (x: Buffer) => x,
    responseDeserialize: (x: Buffer) => x,
  },
};

export interface RunningListener {
  port: number;
  /** What the listener did with each connection (TLS or plaintext, and why it was dropped). */
  log: string[];
  close(): Promise<void>;
}

/** Dispatches a connection (TLS-terminated or plaintext) to the application server. */
interface AppSink {
  take(sock: Duplex, alpn: string | false | null): void;
  close(): void;
}

function appSink(app: AppServer): AppSink {
  if (app.kind === 'grpc') {
    const server = new grpc.Server();
    server.addService(HEALTH_DEFINITION, healthService(app.component));
    // Sockets arrive already TLS-terminated (or plain): the injector must not add TLS again.
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    return {
      take: (sock) => injector.injectConnection(sock),
      close: () => {
        injector.destroy();
        server.forceShutdown();
      },
    };
  }
  // Go's net/http: HTTP/1.1 always, HTTP/2 when TLS negotiated h2.
  const h1 = http.createServer(app.handler as http.RequestListener);
  const h2 = http2.createServer(
    app.handler as (q: http2.Http2ServerRequest, s: http2.Http2ServerResponse) => void,
  );
  return {
    take: (sock, alpn) => (alpn === 'h2' ? h2 : h1).emit('connection', sock),
    close: () => {
      h1.close();
      h2.close();
    },
  };
}

/**
 * Go crypto/tls's server choice (test/peers showed it: a real Go server picks
 * TLS_AES_128_GCM_SHA256 where Node's OpenSSL default picks TLS_AES_256_GCM_SHA384): AES-128-GCM,
 * then ChaCha20, then AES-256-GCM for TLS 1.3; Go's default TLS 1.2 list (ECDHE only: GCM,
 * ChaCha20, then CBC-SHA), in Go's order.
 */
const GO_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
].join(':');

function secureContextOptions(t: TlsServerConfig): tls.SecureContextOptions {
  const o: tls.SecureContextOptions = {
    cert: t.cert,
    key: t.key,
    ciphers: GO_CIPHERS,
    honorCipherOrder: true,
  };
  if (t.clientAuth !== 'none') o.ca = t.clientCa ?? [];
  if (t.legacy) {
    o.minVersion = 'TLSv1';
    o.ciphers = 'DEFAULT@SECLEVEL=0';
  }
  return o;
}

function tlsTerminator(t: TlsServerConfig, log: string[], onSecure: (s: tls.TLSSocket) => void): tls.Server {
  const ctx = tls.createSecureContext(secureContextOptions(t));
  const options: tls.TlsOptions = {
    ...secureContextOptions(t),
    ALPNProtocols: t.alpn,
    requestCert: t.clientAuth !== 'none',
    // Only RequireAndVerifyClientCert lets OpenSSL reject in the handshake; the weaker modes are
    // enforced below the way Go's crypto/tls enforces them.
    rejectUnauthorized: t.clientAuth === 'require-verify',
    handshakeTimeout: 5000,
  };
  if (t.sniHosts) {
    const hosts = new Set(t.sniHosts);
    options.SNICallback = (name, cb) => {
      if (hosts.has(name)) cb(null, ctx);
      else cb(new Error(`no filter chain for SNI ${name}`), undefined);
    };
  }
  const server = tls.createServer(options);
  server.on('secureConnection', (s: tls.TLSSocket) => {
    // Only the weaker client-auth modes need to look at the peer certificate here.
    const hasCert =
      t.clientAuth === 'verify-if-given' || t.clientAuth === 'require-any'
        ? Object.keys(s.getPeerCertificate() ?? {}).length > 0
        : t.clientAuth === 'require-verify';
    if (t.sniHosts && !s.servername) {
      log.push('tls: no SNI, no filter chain: closed');
      s.destroy();
      return;
    }
    if (t.clientAuth === 'verify-if-given' && hasCert && !s.authorized) {
      log.push(`tls: client certificate rejected (${s.authorizationError})`);
      s.destroy();
      return;
    }
    if (t.clientAuth === 'require-any' && !hasCert) {
      log.push('tls: no client certificate: closed');
      s.destroy();
      return;
    }
    log.push(`tls: ${s.getProtocol()} alpn=${s.alpnProtocol || 'none'} client-cert=${hasCert}`);
    onSecure(s);
  });
  server.on('tlsClientError', (e) => log.push(`tls error: ${e.message.trim()}`));
  return server;
}

/** Starts one listener on 127.0.0.1 (ephemeral port) serving `app` as `cfg` says. */
export async function startListener(cfg: ListenerConfig, app: AppServer): Promise<RunningListener> {
  const log: string[] = [];
  const sink = appSink(app);
  const sockets = new Set<net.Socket>();
  const terminator = cfg.tls ? tlsTerminator(cfg.tls, log, (s) => sink.take(s, s.alpnProtocol)) : undefined;
  const front = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    // Idle connections are dropped, so a stuck client never keeps the lab alive.
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    if (!terminator) {
      log.push('plaintext');
      sink.take(sock, null);
      return;
    }
    sock.once('data', (head: Buffer) => {
      sock.pause();
      if (head[0] === 0x16) {
        sock.unshift(head);
        terminator.emit('connection', sock);
        return;
      }
      if (cfg.acceptPlain) {
        log.push('plaintext on a TLS port: served');
        sink.take(new Replay(sock, head), null);
        return;
      }
      const text = head.subarray(0, 5).toString('latin1');
      if (cfg.plainReply === 'go-400' && GO_HTTP_PREFIXES.some((p) => text.startsWith(p))) {
        log.push('plaintext on a TLS port: Go 400');
        sock.end(GO_400);
        return;
      }
      log.push('plaintext on a TLS port: closed');
      sock.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (front.address() as net.AddressInfo).port;
  return {
    port,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        sink.close();
        front.close(() => resolve());
      }),
  };
}

/** A port where nothing listens: a component that never started (its Service has no endpoint). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Handlers --------------------------------------------------------------------------------- */

function readBody(req: http.IncomingMessage | http2.Http2ServerRequest): Promise<string> {
  return new Promise((resolve) => {
    let b = '';
    req.on('data', (d: Buffer) => {
      if (b.length < 4096) b += d.toString('utf8');
    });
    req.on('end', () => resolve(b));
    req.on('error', () => resolve(b));
  });
}

function hostOf(req: http.IncomingMessage | http2.Http2ServerRequest): string {
  const h = (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? '';
  return h.replace(/:\d+$/, '');
}

/** A Direktiv Go HTTP server (API, UI, init-pod): answers every route with 200 JSON. */
export function goHandler(component: string): HttpHandler {
  return (req, res) => {
    void readBody(req).then((body) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ component, method: req.method, path: req.url, received: body.length }));
    });
  };
}

/**
 * An Envoy vhost: routes by Host (404 "route not found" otherwise, as Envoy does); `redirect`
 * answers 301 to https like Contour's force-ssl-redirect and Knative's httpProtocol Redirected.
 */
export function envoyHandler(opts: { hosts: string[]; redirect: boolean; answer: string }): HttpHandler {
  const hosts = new Set(opts.hosts);
  return (req, res) => {
    void readBody(req).then(() => {
      const host = hostOf(req);
      if (!hosts.has(host)) {
        res.statusCode = 404;
        res.end();
        return;
      }
      if (opts.redirect) {
        res.statusCode = 301;
        res.setHeader('location', `https://${host}${req.url}`);
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ via: 'envoy', answer: opts.answer, path: req.url }));
    });
  };
}
