// Local processes of the control plane: each started in its own process group with its output in
// a log file (not a pipe), so it can outlive this process when the run is kept, and stopped by
// process group later, from this process or from `--down`.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlaneError } from './types.ts';

export interface ProcessRecord {
  readonly name: string;
  readonly pid: number;
  readonly log: string;
  readonly command: readonly string[];
  /** Ports it was told to listen on, by purpose. */
  readonly ports: Readonly<Record<string, number>>;
}

/** A free TCP port on 127.0.0.1 (the kernel's choice; released right away for the caller to use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Fails with exit 3 naming the port when something already listens on it. */
export function ensurePortFree(port: number, purpose: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new ControlPlaneError(
          `port 127.0.0.1:${port} (${purpose}) is in use (${e.code})`,
          `Free it (ss -ltnp 'sport = :${port}' shows who holds it), or stop a kept control plane: npm run control-plane -- --down`,
        ),
      ),
    );
    s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
  });
}

export function startProcess(a: {
  name: string;
  bin: string;
  args: readonly string[];
  logDir: string;
  ports: Record<string, number>;
  env?: Record<string, string>;
}): ProcessRecord {
  const log = join(a.logDir, `${a.name}.log`);
  const fd = openSync(log, 'a');
  try {
    const child = spawn(a.bin, [...a.args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...a.env },
    });
    child.unref();
    if (child.pid === undefined)
      throw new ControlPlaneError(
        `${a.name}: could not start ${a.bin}`,
        'Check that it exists and is executable.',
      );
    return { name: a.name, pid: child.pid, log, command: [a.bin, ...a.args], ports: a.ports };
  } finally {
    closeSync(fd);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last lines of a component's log, for error messages. */
export function logTail(path: string, lines = 12): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd();
    return text ? text.split('\n').slice(-lines).join('\n') : '(the log is empty)';
  } catch {
    return '(no log)';
  }
}

/**
 * Stops a process group: SIGTERM, then SIGKILL after `graceMs`. Resolves true when the leader is
 * gone. A group already gone counts as stopped.
 */
export async function stopProcess(p: Pick<ProcessRecord, 'pid'>, graceMs = 10_000): Promise<boolean> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-p.pid, sig);
    } catch {
      try {
        process.kill(p.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  if (!alive(p.pid)) return true;
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(p.pid)) return true;
    await sleep(100);
  }
  signal('SIGKILL');
  for (let i = 0; i < 30; i++) {
    if (!alive(p.pid)) return true;
    await sleep(100);
  }
  return !alive(p.pid);
}

/** Whether something listens on 127.0.0.1:port now (a connect succeeds). */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.unref();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}
