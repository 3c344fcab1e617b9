// Cluster capture driver: a privileged host-network pod pinned to the kind node runs
// `tcpdump -i any -U -w -`, and `kubectl exec` streams the pcap back to a local file while the
// workload runs (the Cilium encryption test's design). Sequence:
//   1. apply the pod (nodeName set: no scheduler involved), wait until Ready;
//   2. exec tcpdump in it, stdout -> local file, and return only once tcpdump's stderr says
//      "listening on" (traffic sent before that would be missed);
//   3. stop: SIGINT to THAT tcpdump by the PID it wrote at start (never a name match), wait for the
//      exec stream to end (tcpdump flushed and exited), read its packet counts;
//   4. delete the pod.
// With hostNetwork the pod sees the node's interfaces: the node's eth0 and one veth per pod. A
// pod-to-pod packet on the same node is seen on both veths (reassembly counts the second copy as
// retransmitted bytes); traffic to a ClusterIP is seen before DNAT (Service IP:port) on the
// client's veth and after it (pod IP:targetPort) on the server's, so attribution gets both ports.
// kubectl is run through an injected ProcessRunner so the sequence is unit-tested here; the live
// part (a real kind node) is not exercised on machines without Docker.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import {
  type CaptureStats,
  failureFromStderr,
  parseStats,
  parseTcpdumpLine,
  type StoppedCapture,
  TcpdumpError,
  type TcpdumpLine,
  tcpdumpArgs,
} from './tcpdump.ts';

/**
 * The capture pod's image: netshoot (Alpine with tcpdump), pinned by digest. The digest is the one
 * public projects pin for v0.13; it was not pulled from a registry on this project's machines.
 * The pins file references this constant.
 */
export const CAPTURE_IMAGE =
  'docker.io/nicolaka/netshoot:v0.13@sha256:a20c2531bf35436ed3766cd6cfe89d352b050ccc4d7005ce6400adf97503da1b';

export const CAPTURE_POD = 'tls-e2e-capture';
/** Where the in-pod tcpdump writes its PID, so stop() signals exactly that process. */
export const PID_FILE = '/tmp/tls-e2e-tcpdump.pid';

export interface ClusterCaptureOptions {
  /** The kind node to capture on (kubectl get nodes), e.g. 'direktiv-control-plane'. */
  node: string;
  /** Local file the pcap is streamed into. */
  outFile: string;
  namespace?: string;
  podName?: string;
  image?: string;
  /** Interface in the node's network namespace (default 'any': eth0 and every pod veth). */
  iface?: string;
  /** BPF filter (default 'tcp'). */
  filter?: string;
  snaplen?: number;
  /** kubectl binary (the harness's pinned one). */
  kubectl?: string;
  kubeconfig?: string;
  context?: string;
  /** Where the in-pod tcpdump writes its PID (default PID_FILE). */
  pidFile?: string;
  readyTimeoutSec?: number;
  listenTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StreamingProcess {
  /** Called for each line tcpdump (through kubectl) prints on stderr. */
  onStderrLine(cb: (line: string) => void): void;
  /** Resolves with the exit code when the process has exited and stdout is flushed to the file. */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

/** How kubectl is run: the real one spawns processes, the tests inject a scripted one. */
export interface ProcessRunner {
  run(cmd: string, args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Runs with stdout written to `stdoutFile` (binary, unbuffered by us). */
  stream(cmd: string, args: string[], stdoutFile: string): StreamingProcess;
}

/** The capture pod. */
export function captureManifest(o: ClusterCaptureOptions): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.podName ?? CAPTURE_POD,
      namespace: o.namespace ?? 'kube-system',
      labels: {
        'app.kubernetes.io/name': CAPTURE_POD,
        'app.kubernetes.io/managed-by': 'direktiv-tls-e2e',
      },
    },
    spec: {
      // Straight onto the node: no scheduling, and it runs even on a tainted control-plane node.
      nodeName: o.node,
      hostNetwork: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      tolerations: [{ operator: 'Exists' }],
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'tcpdump',
          image: o.image ?? CAPTURE_IMAGE,
          imagePullPolicy: 'IfNotPresent',
          // Idle until exec starts tcpdump: the capture's start is then under our control.
          command: ['sleep', 'infinity'],
          securityContext: { privileged: true, runAsUser: 0 },
          resources: { requests: { cpu: '10m', memory: '32Mi' } },
        },
      ],
    },
  };
}

function kubectlBase(o: ClusterCaptureOptions): string[] {
  const a: string[] = [];
  if (o.kubeconfig) a.push('--kubeconfig', o.kubeconfig);
  if (o.context) a.push('--context', o.context);
  a.push('-n', o.namespace ?? 'kube-system');
  return a;
}

/** POSIX shell single-quoting. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The shell command run in the pod: record the PID, then become tcpdump writing pcap to stdout. */
export function podCaptureScript(o: ClusterCaptureOptions): string {
  const args = tcpdumpArgs({
    iface: o.iface ?? 'any',
    file: '-',
    filter: o.filter ?? 'tcp',
    snaplen: o.snaplen,
  });
  return `echo $$ > ${shQuote(o.pidFile ?? PID_FILE)} && exec tcpdump ${args.map(shQuote).join(' ')}`;
}

/** Every kubectl command line of a capture, in order (what the unit tests check). */
export function kubectlCommands(
  o: ClusterCaptureOptions,
): Record<'apply' | 'wait' | 'exec' | 'stop' | 'delete', string[]> {
  const base = kubectlBase(o);
  const pod = o.podName ?? CAPTURE_POD;
  return {
    apply: [...base, 'apply', '-f', '-'],
    wait: [...base, 'wait', '--for=condition=Ready', `pod/${pod}`, `--timeout=${o.readyTimeoutSec ?? 120}s`],
    exec: [...base, 'exec', pod, '-c', 'tcpdump', '--', 'sh', '-c', podCaptureScript(o)],
    stop: [
      ...base,
      'exec',
      pod,
      '-c',
      'tcpdump',
      '--',
      'sh',
      '-c',
      `kill -INT "$(cat ${shQuote(o.pidFile ?? PID_FILE)})"`,
    ],
    delete: [...base, 'delete', 'pod', pod, '--ignore-not-found', '--wait=false'],
  };
}

export class ClusterCaptureError extends Error {
  override name = 'ClusterCaptureError';
}

export class ClusterCapture {
  private readonly o: ClusterCaptureOptions;
  private readonly runner: ProcessRunner;
  private readonly kubectl: string;
  private proc: StreamingProcess | null = null;
  private stderr = '';
  listening: Extract<TcpdumpLine, { kind: 'listening' }> | null = null;

  constructor(o: ClusterCaptureOptions, runner: ProcessRunner = spawnRunner) {
    this.o = o;
    this.runner = runner;
    this.kubectl = o.kubectl ?? 'kubectl';
  }

  private async kubectlOk(args: string[], what: string, input?: string): Promise<RunResult> {
    const r = await this.runner.run(this.kubectl, args, input === undefined ? {} : { input });
    if (r.code !== 0) {
      throw new ClusterCaptureError(
        `${what} failed (kubectl exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
    return r;
  }

  /** Creates the pod, starts tcpdump in it, and resolves once tcpdump listens. */
  async start(): Promise<void> {
    const cmds = kubectlCommands(this.o);
    await this.kubectlOk(cmds.apply, 'creating the capture pod', JSON.stringify(captureManifest(this.o)));
    try {
      await this.kubectlOk(cmds.wait, `waiting for pod ${this.o.podName ?? CAPTURE_POD} to be Ready`);
      const proc = this.runner.stream(this.kubectl, cmds.exec, this.o.outFile);
      this.proc = proc;
      this.listening = await new Promise((resolve, reject) => {
        let done = false;
        const timeoutMs = this.o.listenTimeoutMs ?? 30000;
        const timer = setTimeout(() => {
          if (done) return;
          done = true;
          proc.kill('SIGKILL');
          reject(
            new TcpdumpError(
              'timeout',
              `tcpdump in the capture pod did not report "listening on" within ${timeoutMs} ms`,
              'kubectl exec may be stuck: check the pod and the API server',
              this.stderr,
            ),
          );
        }, timeoutMs);
        proc.onStderrLine((line) => {
          this.stderr += `${line}\n`;
          const p = parseTcpdumpLine(line);
          if (p.kind === 'listening' && !done) {
            done = true;
            clearTimeout(timer);
            resolve(p);
          }
        });
        void proc.exited.then((code) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          reject(failureFromStderr(this.stderr, code, 'tcpdump in the capture pod'));
        });
      });
    } catch (e) {
      await this.cleanup();
      throw e;
    }
  }

  /** Stops tcpdump (SIGINT by PID), waits for the stream to end, deletes the pod. */
  async stop(): Promise<StoppedCapture> {
    const proc = this.proc;
    if (proc === null) throw new ClusterCaptureError('stop() before start()');
    const cmds = kubectlCommands(this.o);
    try {
      await this.kubectlOk(cmds.stop, 'stopping tcpdump in the capture pod');
      const timeoutMs = this.o.stopTimeoutMs ?? 15000;
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        proc.exited,
        new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (code === 'timeout') {
        proc.kill('SIGKILL');
        throw new TcpdumpError(
          'timeout',
          `the capture stream did not end within ${timeoutMs} ms of SIGINT`,
          'the local pcap may lack its last packets',
          this.stderr,
        );
      }
      if (code !== 0) {
        throw new ClusterCaptureError(
          `the capture stream ended with exit code ${code}: ${this.stderr.trim()}`,
        );
      }
      const stats: CaptureStats = parseStats(this.stderr);
      return { file: this.o.outFile, stderr: this.stderr, ...stats };
    } finally {
      this.proc = null;
      await this.cleanup();
    }
  }

  /** Deletes the pod; never throws (cleanup after a failure must not hide the failure). */
  async cleanup(): Promise<void> {
    try {
      await this.runner.run(this.kubectl, kubectlCommands(this.o).delete);
    } catch {
      // reported by the caller's own diagnostics; nothing more to do here
    }
  }
}

/** The real runner: child processes, kubectl's stdout streamed to a file. */
export const spawnRunner: ProcessRunner = {
  run(cmd, args, opts = {}) {
    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (e) {
        resolve({ code: 127, stdout: '', stderr: String(e) });
        return;
      }
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => {
        stdout += d;
      });
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      const timer =
        opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
      child.on('error', (e) => resolve({ code: 127, stdout, stderr: `${stderr}${e.message}` }));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      // A kubectl that exits without reading stdin (wait, delete) must not crash us with EPIPE.
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input ?? '');
    });
  },
  stream(cmd, args, stdoutFile) {
    const out = createWriteStream(stdoutFile);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    const listeners: Array<(l: string) => void> = [];
    let pending = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        for (const l of listeners) l(line);
        nl = pending.indexOf('\n');
      }
    });
    const exited = new Promise<number | null>((resolve) => {
      let code: number | null = null;
      child.on('error', () => {
        code = 127;
      });
      child.on('close', (c) => {
        if (c !== null) code = c;
        if (pending) for (const l of listeners) l(pending);
        // The exit counts only once every byte of the pcap is on disk.
        out.end(() => resolve(code));
      });
    });
    return {
      onStderrLine: (cb) => listeners.push(cb),
      exited,
      kill: (signal) => child.kill(signal),
    };
  },
};
