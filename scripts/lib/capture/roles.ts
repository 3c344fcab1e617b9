// Which endpoint of a flow is the client. With a SYN (or SYN+ACK) captured, TCP says so. For a
// flow that began before the capture: first the content (who sent a ClientHello, a request line,
// the HTTP/2 preface, a Postgres startup; who sent a ServerHello or a status line), then ports
// (a well-known or known server port, else the lower port: ephemeral ports are high).
import { EXEMPT_PORTS } from '../../../scenarios/exemptions.ts';
import { PATHS } from '../../../scenarios/paths.ts';
import { findFrameChain, startsWithPreface, walkFrames } from './h2.ts';
import { looksLikeRequest, looksLikeResponse } from './http1.ts';
import { pgFirstMessage } from './postgres.ts';
import type { Flow } from './tcp.ts';

export type RoleBasis = 'syn' | 'content' | 'port';

export interface Roles {
  /** Index (0/1) of the client endpoint in flow.addr/flow.port. */
  client: 0 | 1;
  basis: RoleBasis;
  /** No SYN and no SYN+ACK captured: the flow began before the capture. */
  midstream: boolean;
}

/** Ports the harness's components listen on (paths and exemptions). */
export const KNOWN_SERVER_PORTS: ReadonlySet<number> = new Set([
  ...Object.values(PATHS).flatMap((p) => (p.plainPort === undefined ? [p.port] : [p.port, p.plainPort])),
  ...EXEMPT_PORTS.keys(),
]);

function clientStart(b: Buffer): boolean {
  if (b.length >= 6 && b[0] === 0x16 && b[1] === 3 && b[5] === 1) return true; // ClientHello
  return startsWithPreface(b) || looksLikeRequest(b) || pgFirstMessage(b) !== null;
}

function serverStart(b: Buffer): boolean {
  if (b.length >= 6 && b[0] === 0x16 && b[1] === 3 && b[5] === 2) return true; // ServerHello
  return looksLikeResponse(b);
}

function h2Side(b: Buffer): 'client' | 'server' | null {
  const at = findFrameChain(b);
  if (at < 0) return null;
  const names = new Set(walkFrames(b, at).headers.map((h) => h[0]));
  if (names.has(':method') || names.has(':path')) return 'client';
  if (names.has(':status')) return 'server';
  return null;
}

export function decideRoles(flow: Flow, serverPorts: ReadonlySet<number> = KNOWN_SERVER_PORTS): Roles {
  if (flow.synFrom >= 0) return { client: flow.synFrom as 0 | 1, basis: 'syn', midstream: false };
  if (flow.synAckFrom >= 0) return { client: (1 - flow.synAckFrom) as 0 | 1, basis: 'syn', midstream: false };
  const d0 = flow.dirs[0].prefix();
  const d1 = flow.dirs[1].prefix();
  const c0 = clientStart(d0);
  const c1 = clientStart(d1);
  const s0 = serverStart(d0);
  const s1 = serverStart(d1);
  if ((c0 && !c1) || (s1 && !s0)) return { client: 0, basis: 'content', midstream: true };
  if ((c1 && !c0) || (s0 && !s1)) return { client: 1, basis: 'content', midstream: true };
  // HTTP/2 without its preface (a gRPC connection older than the capture): request pseudo-headers
  // (:method, :path) come from the client, :status from the server. Static-table entries decode
  // even when the dynamic table is unknown.
  const h0 = h2Side(d0);
  const h1 = h2Side(d1);
  if (h0 === 'client' || h1 === 'server') return { client: 0, basis: 'content', midstream: true };
  if (h1 === 'client' || h0 === 'server') return { client: 1, basis: 'content', midstream: true };
  const [p0, p1] = flow.port;
  const server0 = p0 < 1024 || serverPorts.has(p0);
  const server1 = p1 < 1024 || serverPorts.has(p1);
  if (server0 !== server1) return { client: server0 ? 1 : 0, basis: 'port', midstream: true };
  return { client: p0 <= p1 ? 1 : 0, basis: 'port', midstream: true };
}
