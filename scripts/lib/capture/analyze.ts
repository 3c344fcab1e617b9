// A capture file in, one FlowSummary per TCP flow out: read -> decode -> reassemble -> classify.
// Flows are classified when they close (both FINs or a RST) and their buffers freed at once, so
// memory follows the number of OPEN flows, not the size of the capture.
import type { FlowSummary } from '../evidence/types.ts';
import { type Classification, classifyFlow, type StreamView } from './classify.ts';
import { type DecodeStats, decodeTcp, formatEndpoint, newSegment, newStats } from './packet.ts';
import {
  type CaptureInfo,
  linkTypeName,
  type PacketRef,
  type ReadOptions,
  readCaptureBuffer,
  readCaptureFile,
} from './pcap.ts';
import { decideRoles, KNOWN_SERVER_PORTS, type Roles } from './roles.ts';
import { type Direction, type Flow, FlowTable } from './tcp.ts';

export interface AnalyzeOptions extends ReadOptions {
  /** Stream bytes kept per direction for classification (default 32 KiB). */
  retainBytes?: number;
  /** Ports treated as server ports when a flow's roles must be guessed. */
  serverPorts?: ReadonlySet<number>;
}

/** A FlowSummary plus what the command line and a reader of the evidence want to see. */
export interface FlowReport extends FlowSummary {
  id: number;
  packets: number;
  /** Seconds since the epoch of the first and last packet. */
  firstSeen: number;
  lastSeen: number;
  /** Payload bytes sent again (retransmissions, duplicates from capturing on two interfaces). */
  retransmittedBytes: number;
  /** Why the classifier saw only part of the flow, when it did. */
  incomplete?: string;
}

export interface CaptureAnalysis {
  capture: CaptureInfo;
  decode: DecodeStats;
  flows: FlowReport[];
  warnings: string[];
}

interface Done {
  roles: Roles;
  cls: Classification;
  incomplete: string | undefined;
}

function view(d: Direction): StreamView {
  const prefix = d.prefix();
  if (prefix.length > 0 || d.extent === 0) {
    return { data: prefix, total: d.extent, fromStart: true, whole: d.prefixIsWholeStream() };
  }
  const piece = d.firstPiece();
  return { data: piece?.bytes ?? Buffer.alloc(0), total: d.extent, fromStart: false, whole: false };
}

function describeGaps(flow: Flow, roles: Roles): string | undefined {
  const out: string[] = [];
  for (const [dir, name] of [
    [roles.client, 'client->server'],
    [1 - roles.client, 'server->client'],
  ] as const) {
    const d = flow.dirs[dir]!;
    const missing = d.missingBytes();
    if (missing > 0) out.push(`${name}: ${missing} bytes missing from the capture`);
    if (d.snappedBytes > 0) out.push(`${name}: ${d.snappedBytes} bytes cut by the snap length`);
    if (d.droppedPieces > 0) out.push(`${name}: ${d.droppedPieces} out-of-order pieces dropped`);
  }
  return out.length ? out.join('; ') : undefined;
}

function settle(flow: Flow, serverPorts: ReadonlySet<number>): Done {
  const roles = decideRoles(flow, serverPorts);
  const c = view(flow.dirs[roles.client]);
  const s = view(flow.dirs[1 - roles.client]!);
  const cls = classifyFlow(c, s, roles.midstream);
  const done: Done = { roles, cls, incomplete: describeGaps(flow, roles) };
  flow.dirs[0].release();
  flow.dirs[1].release();
  flow.done = done;
  return done;
}

function report(flow: Flow, done: Done): FlowReport {
  const { roles, cls } = done;
  const ci = roles.client;
  const si = 1 - ci;
  const cd = flow.dirs[ci];
  const sd = flow.dirs[si]!;
  const r: FlowReport = {
    id: flow.id,
    client: formatEndpoint(flow.addr[ci], flow.port[ci]),
    server: formatEndpoint(flow.addr[si]!, flow.port[si]!),
    serverPort: flow.port[si]!,
    class: cls.class,
    bytesClientToServer: cd.extent,
    bytesServerToClient: sd.extent,
    plaintextBytes: cls.plaintextBytes,
    packets: flow.packets,
    firstSeen: flow.firstTs,
    lastSeen: flow.lastTs,
    retransmittedBytes: cd.retransmittedBytes + sd.retransmittedBytes,
  };
  if (cls.tlsVersion !== undefined) r.tlsVersion = cls.tlsVersion;
  if (cls.sni !== undefined) r.sni = cls.sni;
  if (cls.alpn !== undefined) r.alpn = cls.alpn;
  if (cls.applicationData !== undefined) r.applicationData = cls.applicationData;
  if (cls.httpStatuses !== undefined) r.httpStatuses = cls.httpStatuses;
  if (cls.httpsRedirectOnly !== undefined) r.httpsRedirectOnly = cls.httpsRedirectOnly;
  if (roles.midstream) r.midstream = true;
  r.roleBasis = roles.basis;
  if (cls.detail) r.detail = cls.detail;
  if (done.incomplete !== undefined) r.incomplete = done.incomplete;
  return r;
}

function analyze(
  read: (visit: (p: PacketRef) => void) => CaptureInfo,
  opts: AnalyzeOptions,
): CaptureAnalysis {
  const serverPorts = opts.serverPorts ?? KNOWN_SERVER_PORTS;
  const table = new FlowTable({
    retainBytes: opts.retainBytes,
    onClose: (flow) => settle(flow, serverPorts),
  });
  const seg = newSegment();
  const stats = newStats();
  const capture = read((p) => {
    if (decodeTcp(p, seg, stats)) table.add(seg, p.ts);
  });
  const flows = table.flows().map((f) => report(f, (f.done as Done | undefined) ?? settle(f, serverPorts)));
  return { capture, decode: stats, flows, warnings: warningsFor(capture, stats, flows) };
}

function warningsFor(capture: CaptureInfo, stats: DecodeStats, flows: FlowReport[]): string[] {
  const w: string[] = [];
  if (capture.truncatedTail) w.push(`capture ${capture.truncatedTail}`);
  if (stats.fragments) w.push(`${stats.fragments} IP fragments skipped (not reassembled)`);
  if (stats.malformed) w.push(`${stats.malformed} packets with malformed or cut headers skipped`);
  for (const [lt, n] of Object.entries(stats.unsupportedLinkTypes)) {
    w.push(`${n} packets of unsupported ${linkTypeName(Number(lt))} skipped`);
  }
  const partial = flows.filter((f) => f.incomplete !== undefined).length;
  if (partial) w.push(`${partial} flows have bytes missing from the capture (see "incomplete")`);
  if (capture.packets > 0 && stats.tcp === 0) w.push('no TCP packets in the capture');
  return w;
}

export function analyzeCaptureFile(path: string, opts: AnalyzeOptions = {}): CaptureAnalysis {
  return analyze((visit) => readCaptureFile(path, visit, opts), opts);
}

export function analyzeCaptureBuffer(data: Buffer, opts: AnalyzeOptions = {}): CaptureAnalysis {
  return analyze((visit) => readCaptureBuffer(data, visit, opts), opts);
}
