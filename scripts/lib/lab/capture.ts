// lab --capture: passive evidence for the lab. A local tcpdump records loopback while the REAL
// clients of every path make their calls; the capture is classified flow by flow, each flow is
// attributed to its path by the server port (every lab listener is its own ephemeral port, so the
// port names exactly one path), and each path's flows become its PassivePathEvidence.
//
// Only the real clients' traffic may count. The probes dial TLS ports in plaintext ON PURPOSE
// (to prove plaintext is refused), and those flows would look like plaintext on a TLS path. So the
// run has two phases: the real clients run under capture, the capture stops (tcpdump flushed and
// exited), and only then do the probes run; the probes take the real clients' outcomes from the
// first phase instead of calling again. Separating by phase is exact; filtering flows by client
// port would need every client library to report its local port (grpc-js does not), and a time
// cut inside one capture would race with connections still closing.
//
// The BPF filter names the lab's listener ports, so nothing else on this machine's loopback (a
// developer's database, another test) is recorded, and a kept --pcap file holds the lab only.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PATH_IDS, PATHS, type PathId } from '../../../scenarios/index.ts';
import { analyzeCaptureFile } from '../capture/analyze.ts';
import { attributeFlows, passiveEvidence } from '../capture/attribute.ts';
import { captureSummary } from '../capture/summary.ts';
import { type LocalCapture, startCapture } from '../capture/tcpdump.ts';
import type { PassivePathEvidence } from '../evidence/types.ts';
import type { CaptureSummary } from '../report/types.ts';
import type { Lab } from './lab.ts';

export interface LabCaptureOptions {
  /** tcpdump binary (default: tcpdump from PATH). */
  tcpdumpPath?: string;
  /** Loopback interface (default lo; lo0 on macOS and the BSDs). */
  iface?: string;
  /** Copy the capture file here once tcpdump has stopped (lab --pcap). */
  keepFile?: string;
  /** Bound on waiting for tcpdump's "listening on" (default 5000 ms). */
  startTimeoutMs?: number;
  /** Run tcpdump as this user/group (tests prove the permission error with it). */
  uid?: number;
  gid?: number;
  /** Called once tcpdump listens (tests check it is gone afterwards, whatever happened). */
  onListening?: (info: { pid: number; file: string }) => void;
}

export const LAB_CAPTURE_SCOPE =
  "the real clients' calls only: the probes, which dial TLS ports in plaintext on purpose, ran after the capture stopped";

export function loopbackInterface(): string {
  return process.platform === 'linux' ? 'lo' : 'lo0';
}

export interface LabListener {
  port: number;
  path: PathId;
  /** The real port this listener stands for (6666, 443, 80, ...). */
  standsFor: number;
}

/** Every port the lab's paths use (TLS/main and plain listeners, and closed ports of stopped components). */
export function labListeners(lab: Pick<Lab, 'endpoints'>): LabListener[] {
  const out: LabListener[] = [];
  for (const id of PATH_IDS) {
    const t = lab.endpoints[id].target;
    out.push({ port: t.port, path: id, standsFor: t.displayPort ?? PATHS[id].port });
    if (t.plainPort !== undefined) {
      out.push({ port: t.plainPort, path: id, standsFor: t.displayPlainPort ?? PATHS[id].plainPort ?? 80 });
    }
  }
  return out;
}

/** tcpdump filter: TCP to or from exactly these ports. */
export function captureFilter(ports: readonly number[]): string {
  const list = [...new Set(ports)].sort((a, b) => a - b);
  if (list.length === 0) throw new Error('no lab port to capture');
  return `tcp and (${list.map((p) => `port ${p}`).join(' or ')})`;
}

export interface LabCaptureResult<T> {
  result: T;
  passive: Record<PathId, PassivePathEvidence>;
  summary: CaptureSummary;
}

/**
 * Runs `phase` (the real clients) under a local tcpdump on loopback and returns its result with
 * each path's passive evidence. tcpdump is stopped, or killed, and its scratch folder removed on
 * every way out; a TcpdumpError (missing, not permitted, no "listening on") is thrown before
 * `phase` runs.
 */
export async function captureRealClients<T>(
  lab: Pick<Lab, 'endpoints'>,
  opts: LabCaptureOptions,
  phase: () => Promise<T>,
): Promise<LabCaptureResult<T>> {
  const listeners = labListeners(lab);
  const ports = new Map(listeners.map((l) => [l.port, l.path]));
  const filter = captureFilter([...ports.keys()]);
  const iface = opts.iface ?? loopbackInterface();
  const dir = await mkdtemp(join(tmpdir(), 'lab-capture-'));
  const file = join(dir, 'lab.pcap');
  let cap: LocalCapture | undefined;
  try {
    cap = await startCapture({
      iface,
      file,
      filter,
      startTimeoutMs: opts.startTimeoutMs ?? 5000,
      ...(opts.tcpdumpPath ? { tcpdumpPath: opts.tcpdumpPath } : {}),
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    opts.onListening?.({ pid: cap.pid, file });
    const result = await phase();
    // Short settle: loopback delivers at once; stop() still waits until the file stops growing.
    const stopped = await cap.stop({ settleMs: 100, timeoutMs: 5000 });
    const analysis = analyzeCaptureFile(file, { serverPorts: new Set(ports.keys()) });
    const attr = attributeFlows(analysis.flows, { ports });
    const passive = {} as Record<PathId, PassivePathEvidence>;
    for (const id of PATH_IDS) {
      const ev = passiveEvidence(attr, id);
      // The judge allows redirect-only flows on an https path's plain port, never on its TLS port.
      ev.tlsPort = lab.endpoints[id].target.port;
      passive[id] = ev;
    }
    const summary = captureSummary({
      driver: `tcpdump on ${iface}`,
      filter,
      scope: LAB_CAPTURE_SCOPE,
      analysis,
      attribution: attr,
      stats: stopped,
    });
    summary.listeners = listeners.map((l) => ({ port: l.port, path: l.path, standsFor: l.standsFor }));
    if (opts.keepFile) {
      await copyFile(file, opts.keepFile);
      summary.file = opts.keepFile;
    }
    return { result, passive, summary };
  } finally {
    cap?.kill(); // no-op once tcpdump has exited
    await rm(dir, { recursive: true, force: true });
  }
}
