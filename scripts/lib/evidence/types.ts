// Evidence shapes shared by the three producers (passive capture, active probes, configuration)
// and the one consumer (verdicts). Producers fill these; nothing else judges.
import type { ExpectedState, PathId } from '../../../scenarios/index.ts';

/** How a captured TCP flow was classified, by content (never by port alone). */
export type FlowClass =
  | 'tls'
  | 'http1'
  | 'h2c'
  | 'grpc-clear'
  | 'postgres'
  | 'plaintext-unknown'
  | 'binary-unknown'
  | 'empty';

export interface FlowSummary {
  client: string; // ip:port
  server: string; // ip:port
  serverPort: number;
  class: FlowClass;
  bytesClientToServer: number;
  bytesServerToClient: number;
  /** Payload bytes seen in clear (0 for TLS flows beyond the handshake's plaintext records). */
  plaintextBytes: number;
  tlsVersion?: string;
  sni?: string;
  alpn?: string[];
  /** TLS application data records were seen after the handshake. */
  applicationData?: boolean;
  /** No SYN was captured (the flow began before the capture): client/server roles are inferred. */
  midstream?: boolean;
  /** How the client/server roles were decided: the SYN, the content, or the port heuristic. */
  roleBasis?: 'syn' | 'content' | 'port';
  /** HTTP/1 response status codes seen from the server, in order. */
  httpStatuses?: number[];
  /** Every HTTP/1 response seen is a 3xx redirect to an https:// Location (an `https` path's port 80). */
  httpsRedirectOnly?: boolean;
  /** What the classifier based its decision on, in words (e.g. "content-type application/grpc"). */
  detail?: string;
}

export interface PassivePathEvidence {
  kind: 'passive';
  path: PathId;
  flows: FlowSummary[];
  tlsFlows: number;
  plaintextFlows: number;
  plaintextBytes: number;
  /** Caveats a reader of the evidence needs (e.g. flows attributed to every path sharing a port). */
  notes?: string[];
  /**
   * The server port TLS is served on when it is not the path's well-known port (a lab listener on
   * an ephemeral port stands for 443, 6666, ...). The judge needs it for `https` paths.
   */
  tlsPort?: number;
}

/** One named check an active probe made, with what it saw (errors verbatim). */
export interface ProbeCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ConfigEvidence {
  kind: 'config';
  path: PathId;
  ok: boolean;
  /** One line per finding, e.g. "Secret direktiv-cert-flow missing in direktiv-services-direktiv". */
  findings: string[];
  /** Every requirement checked on the live objects, held or not, with where it comes from. */
  checks?: ConfigCheck[];
}

export interface ConfigCheck {
  ok: boolean;
  /** `Kind namespace/name` of the live object. */
  object: string;
  /** What must hold, in words. */
  what: string;
  /** What the live object has. */
  live: string;
  /** The chart template or Go source that makes it so (e.g. templates/flow-deployment.yaml). */
  source: string;
}

/** A judgement of one kind of evidence against the expected state. */
export interface Judgement {
  ok: boolean;
  reason: string;
}

export type { ExpectedState, PathId };
