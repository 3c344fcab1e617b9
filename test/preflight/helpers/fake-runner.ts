// A scripted command runner: the Docker/kind parts of preflight cannot run on the build machines,
// so tests answer for docker and kind and check what was asked.
import type { Runner, RunOptions, RunResult } from '../../../scripts/lib/tools/runner.ts';

export interface Call {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly opts?: RunOptions;
}

type Answer = Partial<RunResult> | ((call: Call) => Partial<RunResult>);

export interface FakeRunner extends Runner {
  readonly calls: Call[];
  /** Joined command lines, for easy assertions. */
  lines(): string[];
}

/**
 * rules: [pattern, answer]; the first pattern that matches `cmd args...` answers. An unmatched
 * command fails the test (nothing runs by accident).
 */
export function fakeRunner(rules: [RegExp | string, Answer][]): FakeRunner {
  const calls: Call[] = [];
  const run = (async (cmd: string, args: readonly string[], opts?: RunOptions) => {
    const call = { cmd, args, ...(opts ? { opts } : {}) };
    calls.push(call);
    const line = [cmd, ...args].join(' ');
    for (const [pattern, answer] of rules) {
      const hit = typeof pattern === 'string' ? line.startsWith(pattern) : pattern.test(line);
      if (!hit) continue;
      const a = typeof answer === 'function' ? answer(call) : answer;
      return { exitCode: 0, stdout: '', stderr: '', ...a };
    }
    throw new Error(`fake runner: unexpected command: ${line}`);
  }) as FakeRunner;
  Object.assign(run, { calls, lines: () => calls.map((c) => [c.cmd, ...c.args].join(' ')) });
  return run;
}

export const GiB = 1024 ** 3;

/** `docker info --format '{{json .}}'` of a healthy daemon. */
export function dockerInfoJson(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ID: 'abc',
    ServerVersion: '28.2.2',
    MemTotal: 16 * GiB,
    NCPU: 8,
    OperatingSystem: 'Ubuntu 24.04 LTS',
    Architecture: 'x86_64',
    CgroupVersion: '2',
    Driver: 'overlay2',
    DriverStatus: [
      ['Backing Filesystem', 'extfs'],
      ['Supports d_type', 'true'],
    ],
    SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
    ...over,
  });
}
