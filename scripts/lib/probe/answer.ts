// What counts as a refusal, at every layer a real server may refuse at: a TLS alert, a reset or a
// close (handshake or after the first request), an HTTP error status, a gRPC error status. A
// "real answer" is anything else the application says (200, 404, gRPC OK, UNIMPLEMENTED, ...).
// Real servers seen refusing this way (test/peers/): nginx answers a missing or bad client
// certificate under `ssl_verify_client optional` with 400 ("No required SSL certificate was sent")
// or the 403/495/496 a config returns; Go's net/http answers plaintext on a TLS port with 400.
import type { GrpcCallResult } from './grpc.ts';
import type { Answer } from './types.ts';

/**
 * HTTP statuses that turn a client away (not "the resource is missing"): 400 Bad Request (nginx,
 * Go), 401/403, 407, 421 Misdirected Request (wrong SNI/authority), 426 Upgrade Required, nginx's
 * 495 certificate error, 496 no certificate, 497 HTTP to HTTPS port. Every 5xx too: a server that
 * fails the request gave no real answer (never a proof of acceptance, and never of service).
 */
export function isRefusalStatus(status: number): boolean {
  return [400, 401, 403, 407, 421, 426, 495, 496, 497].includes(status) || status >= 500;
}

/** grpc-js codes that mean the call was turned away or never reached the application. */
const GRPC_REFUSAL_CODES = new Set([
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
]);

/**
 * Whether a gRPC call was refused. grpc-js maps a non-gRPC HTTP answer to INTERNAL/UNKNOWN
 * ("Received HTTP status code 400"): refused when that status is a refusal; a stream reset by the
 * server (RST_STREAM) is a refusal too.
 */
export function grpcRefused(r: Pick<GrpcCallResult, 'codeName' | 'details'>): boolean {
  if (GRPC_REFUSAL_CODES.has(r.codeName)) return true;
  const http = /Received HTTP status code (\d{3})/.exec(r.details);
  if (http) return isRefusalStatus(Number(http[1]));
  return /RST_STREAM/.test(r.details) && r.codeName !== 'OK';
}

/** One line: how an attempt ended and what the wire showed. */
export function describeAnswer(a: Answer): string {
  const parts: string[] = [];
  if (a.outcome === 'answered') parts.push(`answered (${a.layer})`);
  else if (a.outcome === 'unreachable') parts.push('unreachable');
  else parts.push(`refused at ${a.layer}`);
  if (a.status) parts.push(a.status);
  if (a.alert) parts.push(`alert "${a.alert}"`);
  if (a.error && !a.status) parts.push(a.error);
  const t = a.tls;
  if (t) {
    const s = [t.version, t.cipher, t.alpn !== undefined ? `alpn=${t.alpn ?? 'none'}` : undefined];
    if (t.certificateRequested !== undefined)
      s.push(t.certificateRequested ? 'client certificate requested' : 'no client certificate requested');
    const line = s.filter(Boolean).join(' ');
    if (line) parts.push(`[${line}]`);
  }
  if (a.firstBytes && a.outcome !== 'answered') parts.push(`first bytes ${a.firstBytes}`);
  return parts.join('; ');
}
