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
}

export interface PassivePathEvidence {
  kind: 'passive';
  path: PathId;
  flows: FlowSummary[];
  tlsFlows: number;
  plaintextFlows: number;
  plaintextBytes: number;
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
}

/** A judgement of one kind of evidence against the expected state. */
export interface Judgement {
  ok: boolean;
  reason: string;
}

export type { ExpectedState, PathId };
