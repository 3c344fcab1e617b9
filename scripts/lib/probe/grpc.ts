// gRPC probe with @grpc/grpc-js: one unary call (grpc.health.v1.Health/Check) in clear, over TLS,
// over mTLS. Any gRPC status other than UNAVAILABLE / DEADLINE_EXCEEDED means the server spoke
// gRPC on that transport (UNIMPLEMENTED included: Direktiv's 7777 and 5555 need not register
// Health). grpc-js reports every transport failure as UNAVAILABLE; the details tell them apart
// (see /work/shared/stack.md): "Failed to connect", "wrong version number", "certificate required".
import * as grpc from '@grpc/grpc-js';
import { grpcRefused } from './answer.ts';
import { alertOf, DEFAULT_TIMEOUT_MS, dialObserved, handshakeRefusal, observedSession } from './tls.ts';
import type { Answer, AppAttempt, KeyPairPem } from './types.ts';

export const HEALTH_CHECK_METHOD = '/grpc.health.v1.Health/Check';

/** HealthCheckRequest { string service = 1; }: two bytes of protobuf do not justify a .proto. */
export function encodeHealthRequest(service: string): Buffer {
  const s = Buffer.from(service, 'utf8');
  if (s.length > 127) throw new Error('service name too long for the one-byte length encoding');
  return s.length ? Buffer.concat([Buffer.from([0x0a, s.length]), s]) : Buffer.alloc(0);
}

/** HealthCheckResponse { ServingStatus status = 1; } -> the enum value (0 UNKNOWN when absent). */
export function decodeHealthStatus(b: Buffer): number {
  return b.length >= 2 && b[0] === 0x08 ? b[1]! : 0;
}

export function encodeHealthResponse(status: number): Buffer {
  return Buffer.from([0x08, status]);
}

export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

export type GrpcCredentialSpec =
  | { kind: 'insecure' }
  | {
      kind: 'tls';
      ca?: string;
      clientCert?: KeyPairPem;
      /** false: judge the server elsewhere, only ask whether it answers (client-cert checks). */
      verify: boolean;
    };

export interface GrpcCallOptions {
  address: string;
  port: number;
  /** The authority the real client dials (dns2:///<svc>.<ns>:<port>): TLS name and :authority. */
  serverName: string;
  credentials: GrpcCredentialSpec;
  /** Health service name to ask about ('' = the server as a whole). */
  service?: string;
  timeoutMs?: number;
}

export interface GrpcCallResult {
  /** The server answered with a gRPC status (the transport works). */
  answered: boolean;
  code: number;
  codeName: string;
  details: string;
  servingStatus?: string;
}

const credentialCache = new Map<string, grpc.ChannelCredentials>();

/** Cached per credential set: grpc-js parses keys and CAs when the credentials are made. */
function channelCredentials(c: GrpcCredentialSpec): grpc.ChannelCredentials {
  if (c.kind === 'insecure') return grpc.credentials.createInsecure();
  const key = JSON.stringify([c.ca, c.clientCert?.cert, c.clientCert?.key, c.verify]);
  let creds = credentialCache.get(key);
  if (!creds) {
    creds = makeSsl(c);
    if (credentialCache.size > 256) credentialCache.clear();
    credentialCache.set(key, creds);
  }
  return creds;
}

function makeSsl(c: Extract<GrpcCredentialSpec, { kind: 'tls' }>): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    // An empty bundle, not null: null would make grpc-js trust its default roots.
    Buffer.from(c.ca ?? ''),
    c.clientCert ? Buffer.from(c.clientCert.key) : null,
    c.clientCert ? Buffer.from(c.clientCert.cert) : null,
    c.verify ? {} : { rejectUnauthorized: false, checkServerIdentity: () => undefined },
  );
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function grpcCall(o: GrpcCallOptions): Promise<GrpcCallResult> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let client: grpc.Client;
  try {
    client = new grpc.Client(hostPort(o.address, o.port), channelCredentials(o.credentials), {
      'grpc.ssl_target_name_override': o.serverName,
      'grpc.default_authority': o.serverName,
      // A fresh connection per probe: the global pool would let one probe ride another's channel.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.enable_retries': 0,
    });
  } catch (e) {
    return Promise.resolve({
      answered: false,
      code: grpc.status.INTERNAL,
      codeName: 'INTERNAL',
      details: e instanceof Error ? e.message : String(e),
    });
  }
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      HEALTH_CHECK_METHOD,
      (x: Buffer) => x,
      (x: Buffer) => x,
      encodeHealthRequest(o.service ?? ''),
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, res) => {
        client.close();
        if (!err) {
          resolve({
            answered: true,
            code: 0,
            codeName: 'OK',
            details: '',
            servingStatus: SERVING_STATUS[decodeHealthStatus(res ?? Buffer.alloc(0))] ?? 'UNKNOWN',
          });
          return;
        }
        const code = err.code ?? grpc.status.UNKNOWN;
        resolve({
          answered: code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED,
          code,
          codeName: grpc.status[code] ?? String(code),
          details: (err.details || err.message).trim(),
        });
      },
    );
  });
}

export function describeGrpc(r: GrpcCallResult): string {
  if (r.code === 0) return `OK (${r.servingStatus})`;
  return `${r.code} ${r.codeName}: ${r.details}`;
}

/**
 * One gRPC call and its layered answer. grpc-js does not expose its TLS session, so over TLS a
 * second connection with the same credentials and ALPN h2 runs beside the call and is observed
 * (probe/observe.ts): version, cipher, ALPN and whether the server asked for a client certificate.
 * An error status (UNAVAILABLE, UNAUTHENTICATED, PERMISSION_DENIED, an HTTP error status) is a
 * refusal; any other status, UNIMPLEMENTED included, is the application answering.
 */
export async function grpcAttempt(o: GrpcCallOptions): Promise<AppAttempt> {
  const c = o.credentials;
  const [r, observed] = await Promise.all([
    grpcCall(o),
    c.kind === 'tls'
      ? dialObserved({
          address: o.address,
          port: o.port,
          serverName: o.serverName,
          ca: c.ca,
          clientCert: c.clientCert,
          alpn: ['h2'],
          timeoutMs: o.timeoutMs,
        })
      : Promise.resolve(undefined),
  ]);
  const refused = grpcRefused(r);
  const detail = describeGrpc(r);
  const alert = alertOf(r.details);
  const answer: Answer = {
    outcome: refused ? 'refused' : 'answered',
    layer:
      refused && (alert || /handshake|certificate|SSL|TLS|wrong version/i.test(r.details)) ? 'tls' : 'grpc',
    status: detail,
  };
  if (alert) answer.alert = alert;
  if (observed) {
    if (observed.socket) {
      answer.tls = observedSession(observed);
      observed.socket.destroy();
    } else {
      const h = handshakeRefusal(observed);
      if (h.tls) answer.tls = h.tls;
      if (!answer.alert && h.alert) answer.alert = h.alert;
      if (refused && h.firstBytes) answer.firstBytes = h.firstBytes;
    }
  }
  if (refused && /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/.test(r.details)) {
    answer.outcome = 'unreachable';
    answer.layer = 'tcp';
  }
  return { accepted: !refused, detail, answer };
}
