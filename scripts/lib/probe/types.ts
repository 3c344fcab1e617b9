// Active evidence: what a probe dialled, what it saw (errors verbatim) and the named checks made
// against the expected state. The same shapes serve the lab and a cluster run (port-forwards).
import type { PathExpectation, PathId } from '../../../scenarios/index.ts';
import type { ProbeCheck } from '../evidence/types.ts';

/** Application protocol family: gRPC (HTTP/2) or HTTP/1.1 and HTTP/2. */
export type ProbeProtocol = 'grpc' | 'http';

export interface ProbeTarget {
  protocol: ProbeProtocol;
  /** Address dialled (an IP: the lab and port-forwards never rely on DNS). */
  address: string;
  /** TLS port (the only port for in-cluster paths). */
  port: number;
  /** Plain port of Envoy listeners (ingress 80, internal Envoy 80). */
  plainPort?: number;
  /** The host name the real client dials: SNI, :authority / Host, and the SAN that must match. */
  serverName: string;
  /** The ports as reports name them (the lab listens on ephemeral ports, a port-forward too). */
  displayPort?: number;
  displayPlainPort?: number;
  /** HTTP request path (default /). */
  httpPath?: string;
  /** ALPN offered over TLS, as the real client offers it (default h2 + http/1.1 for HTTP). */
  alpn?: string[];
}

export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface ProbeCredentials {
  /** PEM trust anchor(s): the CA of the profile the real client trusts. */
  ca?: string;
  /** The real client's certificate (mTLS). */
  clientCert?: KeyPairPem;
  /** A certificate from a CA the profile does not trust (mTLS must refuse it). */
  foreignClientCert?: KeyPairPem;
}

/**
 * served: the plaintext request got an application answer; redirected: an HTTP redirect to https;
 * refused: a TLS server turned it away (Go's 400 "Client sent an HTTP request to an HTTPS server",
 * a closed connection, gRPC UNAVAILABLE); unreachable: nothing listens or the dial timed out.
 */
export type PlainOutcome = 'served' | 'redirected' | 'refused' | 'unreachable';

export interface PlainFact {
  port: number;
  displayPort: number;
  outcome: PlainOutcome;
  /** What came back, verbatim (status line, gRPC status, error message). */
  detail: string;
  /** The first bytes of the reply (an alert record, an HTTP status line, nothing). */
  firstBytes?: string;
  status?: number;
  location?: string;
}

export interface PeerCertFacts {
  subject: string;
  issuer: string;
  subjectAltName: string;
  validFrom: string;
  validTo: string;
  serialNumber: string;
  fingerprint256: string;
  /** Public certificate only: reports may carry it. */
  pem: string;
}

export interface FactCheck {
  ok: boolean;
  detail: string;
}

export interface HandshakeFacts {
  port: number;
  displayPort: number;
  ok: boolean;
  error?: string;
  protocol?: string;
  alpn?: string | null;
  cipher?: string;
  /** OpenSSL's verdict against the given CA (Node's authorizationError), verbatim. */
  authorizationError?: string | null;
  /** Whether the server sent a CertificateRequest (read off the wire, probe/observe.ts). */
  certificateRequested?: boolean;
  /** The alert that ended a failed handshake. */
  alert?: string;
  peer?: PeerCertFacts;
  chain?: FactCheck;
  name?: FactCheck;
  validity?: FactCheck;
}

export interface LegacyFact {
  version: 'TLSv1' | 'TLSv1.1';
  accepted: boolean;
  detail: string;
  answer?: Answer;
}

/** The TLS session of one attempt, as far as the handshake got. */
export interface TlsSessionFacts {
  version?: string;
  cipher?: string;
  alpn?: string | null;
  /**
   * Whether the server sent a CertificateRequest, read off the wire (probe/observe.ts); absent
   * when the handshake did not get far enough to tell.
   */
  certificateRequested?: boolean;
}

/**
 * How far one attempt got and what the server said, layer by layer: the evidence that tells a
 * refusal (an alert, a reset, a close, an HTTP or gRPC error status) from a real answer.
 */
export interface Answer {
  /** answered: a real application answer; refused: turned away; unreachable: nothing answered TCP. */
  outcome: 'answered' | 'refused' | 'unreachable';
  /** Where the exchange ended: tcp (connect), tls (handshake or an alert), http or grpc. */
  layer: 'tcp' | 'tls' | 'http' | 'grpc';
  tls?: TlsSessionFacts;
  /** A TLS alert the server sent (OpenSSL's name for it, verbatim). */
  alert?: string;
  /** HTTP status line, or gRPC "code NAME: details". */
  status?: string;
  /** The first bytes of the server's reply (text when printable, else hex). */
  firstBytes?: string;
  /** Error text verbatim, when there was one. */
  error?: string;
}

/** One application-level exchange (an HTTP request or a gRPC call) and whether the server answered. */
export interface AppAttempt {
  accepted: boolean;
  detail: string;
  /** Layered evidence of the exchange (the probe's own attempts; the lab's real clients give none). */
  answer?: Answer;
}

export interface ActiveFacts {
  /** Plaintext attempts: the TLS port, and the plain port when there is one. */
  plaintext: PlainFact[];
  handshake: HandshakeFacts;
  /** TLS 1.0 and 1.1 attempts (only when a modern handshake worked). */
  legacy: LegacyFact[];
  /**
   * Over TLS without a client certificate. Under tls and https this is the legitimate request
   * every refusal is judged against (the real client presents none); under mtls it is
   * withClientCert (probe/checks.ts).
   */
  withoutClientCert?: AppAttempt;
  /** Over TLS with the real client's certificate. */
  withClientCert?: AppAttempt;
  /** Over TLS with a certificate from a foreign CA. */
  withForeignClientCert?: AppAttempt;
  /** Lab only: the path's real client, configured like the Direktiv component, made a real call. */
  realClient?: AppAttempt & { client: string };
}

/** What the wire showed, independent of what was expected (report cells show it). */
export type ObservedState = 'plain' | 'tls' | 'mtls' | 'https' | 'tls+plain' | 'down';

/** A ProbeCheck plus the worded reason for a failure, or a warning on a passing check. */
export interface ActiveCheck extends ProbeCheck {
  /** Set when ok is false: one phrase a report prints. */
  reason?: string;
  /**
   * 'inconclusive' (with ok false) when the check could not decide: the probe was refused, but so
   * was the legitimate request. Never a pass, never a failure (cli/exit-codes.ts statusOf).
   */
  status?: 'inconclusive';
  /** Set on a passing check the report must still flag (e.g. erratum 7's open port 80). */
  warning?: string;
}

export interface ActivePathEvidence {
  kind: 'active';
  path?: PathId;
  target: ProbeTarget;
  expected: PathExpectation;
  facts: ActiveFacts;
  checks: ActiveCheck[];
  observed: ObservedState;
  durationMs: number;
}
