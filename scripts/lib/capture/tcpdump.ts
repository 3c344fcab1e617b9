// Local capture driver: runs tcpdump, returns once it says "listening on" (so no traffic sent after
// start() is missed), and stops it with SIGINT, which makes tcpdump flush and close the file.
// `-U --immediate-mode` matter: without them a capture stopped within a second of the traffic
// comes back empty (packets still sit in libpcap's buffer). The stderr parser is shared with the
// cluster driver, which runs the same tcpdump inside a pod.
import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { CouldNotRunError } from '../../../scenarios/errors.ts';

export type TcpdumpErrorKind = 'missing' | 'permission' | 'failed' | 'timeout';

/** tcpdump missing, not permitted, or failed: the capture could not run (exit 3). */
export class TcpdumpError extends CouldNotRunError {
  readonly kind: TcpdumpErrorKind;
  readonly stderr: string;
  constructor(kind: TcpdumpErrorKind, message: string, hint: string, stderr = '') {
    super(message, hint);
    this.kind = kind;
    this.stderr = stderr;
  }
}

export const INSTALL_HINT = 'install tcpdump: apt-get install tcpdump';
export const PERMISSION_HINT =
  'capturing needs root or CAP_NET_RAW+CAP_NET_ADMIN (run as root, or: setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump))';

export type TcpdumpLine =
  | { kind: 'listening'; iface: string; linkType: string; linkTypeName?: string; snaplen: number }
  | {
      kind: 'stat';
      name: 'captured' | 'receivedByFilter' | 'droppedByKernel' | 'droppedByInterface';
      value: number;
    }
  | { kind: 'permission'; text: string }
  | { kind: 'error'; text: string }
  | { kind: 'info'; text: string };

/** One line of tcpdump's stderr, as tcpdump 4.9 to 4.99 print it. */
export function parseTcpdumpLine(line: string): TcpdumpLine {
  const text = line.trim();
  const l =
    /listening on (\S+), link-type (\S+)(?: \(([^)]*)\))?, (?:snapshot length|capture size) (\d+) bytes/.exec(
      text,
    );
  if (l) {
    const out: TcpdumpLine = { kind: 'listening', iface: l[1]!, linkType: l[2]!, snaplen: Number(l[4]) };
    if (l[3] !== undefined) out.linkTypeName = l[3];
    return out;
  }
  const s = /^(\d+) packets? (captured|received by filter|dropped by kernel|dropped by interface)$/.exec(
    text,
  );
  if (s) {
    const names = {
      captured: 'captured',
      'received by filter': 'receivedByFilter',
      'dropped by kernel': 'droppedByKernel',
      'dropped by interface': 'droppedByInterface',
    } as const;
    return { kind: 'stat', name: names[s[2] as keyof typeof names], value: Number(s[1]) };
  }
  if (/You don't have permission|Operation not permitted|Permission denied/i.test(text)) {
    return { kind: 'permission', text };
  }
  if (/^tcpdump: /.test(text) && !/^tcpdump: (verbose output suppressed|data link type )/.test(text)) {
    return { kind: 'error', text: text.replace(/^tcpdump: /, '') };
  }
  return { kind: 'info', text };
}

export interface CaptureStats {
  captured?: number;
  receivedByFilter?: number;
  droppedByKernel?: number;
  droppedByInterface?: number;
}

/** Folds the stat lines of tcpdump's exit summary. */
export function parseStats(stderr: string): CaptureStats {
  const out: CaptureStats = {};
  for (const line of stderr.split('\n')) {
    const p = parseTcpdumpLine(line);
    if (p.kind === 'stat') out[p.name] = p.value;
  }
  return out;
}

export interface TcpdumpOptions {
  /** Interface: 'lo', 'any', 'eth0', ... */
  iface: string;
  /** Where tcpdump writes the capture ('-' for stdout). */
  file: string;
  /** BPF filter expression, e.g. 'tcp and (port 8443 or port 5555)'. */
  filter?: string;
  /** Data link type for -y, e.g. 'LINUX_SLL' (cooked v1) or 'LINUX_SLL2' on 'any'. */
  linkType?: string;
  /**
   * Snap length (default 65600: a whole 64 KiB loopback/GSO packet plus a cooked header). Not
   * tcpdump's 262144: in immediate mode libpcap sizes every ring frame by the snap length (on
   * 'any' there is no MTU to bound it), so a smaller snap length means 4x more frames in the same
   * buffer and no "dropped by kernel" under bursts.
   */
  snaplen?: number;
  /** Nanosecond timestamps (pcap magic a1b23c4d). */
  nano?: boolean;
  /**
   * Kernel capture buffer in KiB (-B; default 32768). In immediate mode each packet takes a whole
   * ring frame sized for the snap length, so libpcap's 2 MiB default holds only a few dozen
   * packets and a burst is "dropped by kernel".
   */
  bufferKiB?: number;
}

/** The tcpdump command line for a capture (also used, verbatim, inside the cluster capture pod). */
export function tcpdumpArgs(o: TcpdumpOptions): string[] {
  const args = [
    '-i',
    o.iface,
    '-U',
    '--immediate-mode',
    '-n',
    '-B',
    String(o.bufferKiB ?? 32768),
    '-w',
    o.file,
  ];
  if (o.linkType) args.push('-y', o.linkType);
  args.push('-s', String(o.snaplen ?? 65600));
  if (o.nano) args.push('--time-stamp-precision', 'nano');
  if (o.filter) args.push(o.filter);
  return args;
}

export interface LocalCaptureOptions extends TcpdumpOptions {
  /** tcpdump binary (default: 'tcpdump' from PATH). */
  tcpdumpPath?: string;
  /** How long to wait for "listening on" (default 10 s). */
  startTimeoutMs?: number;
  /** Run tcpdump as this user/group (the tests use it to prove the permission error). */
  uid?: number;
  gid?: number;
}

export interface StoppedCapture extends CaptureStats {
  file: string;
  /** Everything tcpdump printed on stderr. */
  stderr: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LocalCapture {
  readonly file: string;
  readonly pid: number;
  /** What tcpdump said when it started listening. */
  readonly listening: Extract<TcpdumpLine, { kind: 'listening' }>;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private readonly getStderr: () => string;
  private stopped = false;

  constructor(
    child: ChildProcess,
    file: string,
    listening: Extract<TcpdumpLine, { kind: 'listening' }>,
    exited: Promise<number | null>,
    getStderr: () => string,
  ) {
    this.child = child;
    this.pid = child.pid!;
    this.file = file;
    this.listening = listening;
    this.exited = exited;
    this.getStderr = getStderr;
  }

  /**
   * Stops the capture: waits until the file stops growing (packets just sent are still on their way
   * through the kernel to tcpdump), sends SIGINT, waits for tcpdump to flush and exit (SIGKILL
   * after timeoutMs), and returns tcpdump's own packet counts.
   */
  async stop(opts: { settleMs?: number; timeoutMs?: number } = {}): Promise<StoppedCapture> {
    const settle = opts.settleMs ?? 200;
    if (!this.stopped && this.file !== '-') {
      let last = -1;
      const until = Date.now() + 3000;
      for (;;) {
        await sleep(settle);
        const size = fileSize(this.file);
        if (size === last || Date.now() > until) break;
        last = size;
      }
    }
    this.stopped = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    const timeout = opts.timeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exited,
      new Promise<'timeout'>((done) => {
        timer = setTimeout(() => done('timeout'), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new TcpdumpError(
        'timeout',
        `tcpdump (pid ${this.pid}) did not exit within ${timeout} ms of SIGINT; killed`,
        'the capture file may lack its last packets',
        this.getStderr(),
      );
    }
    const stderr = this.getStderr();
    return { file: this.file, stderr, ...parseStats(stderr) };
  }

  /** For finally blocks: end tcpdump whatever state it is in, never throw. */
  kill(): void {
    this.stopped = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** Starts tcpdump and resolves once it listens; rejects with a TcpdumpError saying why not. */
export function startCapture(opts: LocalCaptureOptions): Promise<LocalCapture> {
  const bin = opts.tcpdumpPath ?? 'tcpdump';
  const args = tcpdumpArgs(opts);
  return new Promise<LocalCapture>((resolve, reject) => {
    let stderr = '';
    let settled = false;
    let child: ChildProcess;
    try {
      child = spawn(bin, args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
        ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
      });
    } catch (e) {
      reject(spawnError(e as NodeJS.ErrnoException, bin));
      return;
    }
    let exitCode: number | null = null;
    const exited = new Promise<number | null>((done) => {
      child.on('close', (code) => {
        exitCode = code;
        done(code);
      });
    });
    const fail = (err: TcpdumpError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(err);
    };
    const timeoutMs = opts.startTimeoutMs ?? 10000;
    const timer = setTimeout(() => {
      fail(
        new TcpdumpError(
          'timeout',
          `tcpdump did not report "listening on" within ${timeoutMs} ms`,
          'check the interface name and that tcpdump can start',
          stderr,
        ),
      );
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => fail(spawnError(e, bin)));
    let pending = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
        const p = parseTcpdumpLine(line);
        if (p.kind === 'listening' && !settled) {
          settled = true;
          clearTimeout(timer);
          resolve(new LocalCapture(child, opts.file, p, exited, () => stderr));
        }
      }
    });
    void exited.then(() => {
      if (settled) return;
      fail(failureFromStderr(stderr, exitCode, bin));
    });
  });
}

function spawnError(e: NodeJS.ErrnoException, bin: string): TcpdumpError {
  if (e.code === 'ENOENT') {
    return new TcpdumpError('missing', `tcpdump not found (${bin}): ${INSTALL_HINT}`, INSTALL_HINT);
  }
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new TcpdumpError('permission', `cannot run ${bin}: ${e.message}`, PERMISSION_HINT);
  }
  return new TcpdumpError('failed', `cannot run ${bin}: ${e.message}`, '');
}

/** Why tcpdump exited before listening, from what it printed. */
export function failureFromStderr(stderr: string, code: number | null, bin = 'tcpdump'): TcpdumpError {
  const lines = stderr.split('\n').map(parseTcpdumpLine);
  const perm = lines.find((l) => l.kind === 'permission');
  if (perm) {
    return new TcpdumpError(
      'permission',
      `tcpdump is not permitted to capture: ${perm.text}`,
      PERMISSION_HINT,
      stderr,
    );
  }
  const err = lines.find((l) => l.kind === 'error');
  const why = err?.kind === 'error' ? err.text : stderr.trim() || `exit code ${code}`;
  return new TcpdumpError('failed', `${bin} exited before listening: ${why}`, '', stderr);
}
