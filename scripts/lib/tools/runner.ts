// The one way this module group runs commands: an injectable runner, so tests can script the
// answers of docker, kind and friends (none of which run on the build machines).
import { execa } from 'execa';

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface RunResult {
  /** Process exit code; -1 when it could not start or was killed. */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The command is not installed (ENOENT). */
  readonly notFound?: boolean;
  readonly timedOut?: boolean;
}

/** Never rejects for a failing command: callers read exitCode/stderr and explain. */
export type Runner = (cmd: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export const execaRunner: Runner = async (cmd, args, opts = {}) => {
  const r = await execa(cmd, [...args], {
    reject: false,
    timeout: opts.timeoutMs ?? 120_000,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
  });
  const notFound = (r as { code?: string }).code === 'ENOENT';
  return {
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : -1,
    stdout: String(r.stdout ?? ''),
    stderr: notFound ? `${cmd}: command not found` : String(r.stderr ?? ''),
    ...(notFound ? { notFound: true } : {}),
    ...(r.timedOut ? { timedOut: true } : {}),
  };
};

/** `cmd args` for messages, quoting what needs it. */
export function showCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** The first non-empty lines of a command's error output, for a one-line message. */
export function firstLines(text: string, n = 3): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, n)
    .join(' | ');
}
