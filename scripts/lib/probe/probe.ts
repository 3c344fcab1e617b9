// One active probe of one path: gathers every fact (plaintext, handshake, legacy versions,
// client-certificate behaviour), then judges them against the expected state.
import type { PathExpectation, PathId } from '../../../scenarios/index.ts';
import { grpcRefused } from './answer.ts';
import { activeChecks, observedState } from './checks.ts';
import { describeGrpc, type GrpcCredentialSpec, grpcAttempt, grpcCall } from './grpc.ts';
import { httpsAttempt, plainHttpFact } from './http.ts';
import { DEFAULT_TIMEOUT_MS, errorText, handshakeFacts, legacyFacts } from './tls.ts';
import type {
  ActiveFacts,
  ActivePathEvidence,
  AppAttempt,
  KeyPairPem,
  PlainFact,
  ProbeCredentials,
  ProbeTarget,
} from './types.ts';

export interface ProbeOptions {
  timeoutMs?: number;
  path?: PathId;
  /** The lab passes the path's real client: its outcome becomes part of the evidence. */
  realClient?: () => Promise<AppAttempt & { client: string }>;
}

async function plainGrpcFact(t: ProbeTarget, timeoutMs: number): Promise<PlainFact> {
  const base = { port: t.port, displayPort: t.displayPort ?? t.port };
  const r = await grpcCall({
    address: t.address,
    port: t.port,
    serverName: t.serverName,
    credentials: { kind: 'insecure' },
    timeoutMs,
  });
  // A gRPC error status in clear (an HTTP 400 from an HTTPS port, UNAVAILABLE) is a refusal.
  if (!grpcRefused(r)) return { ...base, outcome: 'served', detail: describeGrpc(r) };
  const unreachable =
    /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/.test(r.details) || r.codeName === 'DEADLINE_EXCEEDED';
  return { ...base, outcome: unreachable ? 'unreachable' : 'refused', detail: describeGrpc(r) };
}

function attemptOverTls(
  t: ProbeTarget,
  ca: string | undefined,
  clientCert: KeyPairPem | undefined,
  timeoutMs: number,
): Promise<AppAttempt> {
  if (t.protocol === 'grpc') {
    const credentials: GrpcCredentialSpec = { kind: 'tls', verify: false, ca, clientCert };
    return grpcAttempt({
      address: t.address,
      port: t.port,
      serverName: t.serverName,
      credentials,
      timeoutMs,
    });
  }
  return httpsAttempt({
    address: t.address,
    port: t.port,
    serverName: t.serverName,
    ca,
    clientCert,
    alpn: t.alpn,
    timeoutMs,
    request: { path: t.httpPath ?? '/' },
  });
}

export async function gatherFacts(
  t: ProbeTarget,
  creds: ProbeCredentials,
  opts: ProbeOptions = {},
): Promise<ActiveFacts> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const plainAttempts: Promise<PlainFact>[] = [
    t.protocol === 'grpc'
      ? plainGrpcFact(t, timeoutMs)
      : plainHttpFact({
          address: t.address,
          port: t.port,
          displayPort: t.displayPort,
          host: t.serverName,
          path: t.httpPath,
          timeoutMs,
        }),
  ];
  if (t.plainPort !== undefined) {
    plainAttempts.push(
      plainHttpFact({
        address: t.address,
        port: t.plainPort,
        displayPort: t.displayPlainPort,
        host: t.serverName,
        path: t.httpPath,
        timeoutMs,
      }),
    );
  }
  const alpn = t.alpn ?? (t.protocol === 'grpc' ? ['h2'] : ['h2', 'http/1.1']);
  const [plaintext, hs, realClient] = await Promise.all([
    Promise.all(plainAttempts),
    handshakeFacts({
      address: t.address,
      port: t.port,
      displayPort: t.displayPort,
      serverName: t.serverName,
      ca: creds.ca,
      clientCert: creds.clientCert,
      alpn,
      timeoutMs,
    }),
    opts.realClient
      ? opts.realClient().catch((e) => ({ client: 'real client', accepted: false, detail: errorText(e) }))
      : Promise.resolve(undefined),
  ]);
  hs.socket?.destroy();
  const facts: ActiveFacts = { plaintext, handshake: hs.facts, legacy: [] };
  if (realClient) facts.realClient = realClient;
  const legacyDial = {
    address: t.address,
    port: t.port,
    serverName: t.serverName,
    clientCert: creds.clientCert,
    alpn,
    timeoutMs,
  };
  if (!hs.facts.ok) {
    // A server that speaks only TLS 1.0/1.1 fails the modern handshake on the version: say so.
    if (/protocol version|unsupported protocol|no protocols available/i.test(hs.facts.error ?? '')) {
      facts.legacy = await legacyFacts(legacyDial);
    }
    return facts;
  }
  const [legacy, without, withCert, foreign] = await Promise.all([
    legacyFacts(legacyDial),
    attemptOverTls(t, creds.ca, undefined, timeoutMs),
    creds.clientCert ? attemptOverTls(t, creds.ca, creds.clientCert, timeoutMs) : Promise.resolve(undefined),
    creds.foreignClientCert
      ? attemptOverTls(t, creds.ca, creds.foreignClientCert, timeoutMs)
      : Promise.resolve(undefined),
  ]);
  facts.legacy = legacy;
  facts.withoutClientCert = without;
  if (withCert) facts.withClientCert = withCert;
  if (foreign) facts.withForeignClientCert = foreign;
  return facts;
}

/** Probes one target and judges it: the active evidence of one path. */
export async function probeTarget(
  t: ProbeTarget,
  expected: PathExpectation,
  creds: ProbeCredentials,
  opts: ProbeOptions = {},
): Promise<ActivePathEvidence> {
  const started = performance.now();
  const facts = await gatherFacts(t, creds, opts);
  const ev: ActivePathEvidence = {
    kind: 'active',
    target: t,
    expected,
    facts,
    checks: activeChecks(t, expected, facts),
    observed: observedState(t, facts),
    durationMs: Math.round(performance.now() - started),
  };
  if (opts.path) ev.path = opts.path;
  return ev;
}
