// A thin layer over node:util parseArgs that turns its errors into UsageErrors (exit 2) and
// rejects values that look like flags (`--output --dry-run` is a mistake, not a folder).
import { parseArgs } from 'node:util';
import { UsageError } from '../../../scenarios/errors.ts';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export function parseCli<T extends OptionSpec>(argv: string[], options: T, allowPositionals = false) {
  let parsed: ReturnType<typeof parseArgs<{ options: T; allowPositionals: boolean; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    const msg = (e as Error).message;
    const ambiguous = /Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(msg);
    if (ambiguous) {
      throw new UsageError(`missing value for ${ambiguous[1]}`, `give a value: ${ambiguous[1]} <value>`);
    }
    const missing = /Option '(--[\w-]+)[^']*' argument missing/.exec(msg);
    if (missing)
      throw new UsageError(`missing value for ${missing[1]}`, `give a value: ${missing[1]} <value>`);
    throw new UsageError(msg.split('\n')[0] ?? msg, 'run with --help to see every option');
  }
  for (const [k, v] of Object.entries(parsed.values)) {
    const vals = Array.isArray(v) ? v : [v];
    for (const s of vals) {
      if (typeof s === 'string' && s.startsWith('--')) {
        throw new UsageError(`missing value for --${k} (got '${s}')`, `give a value: --${k} <value>`);
      }
      if (typeof s === 'string' && s.trim() === '') {
        throw new UsageError(`empty value for --${k}`, `give a value: --${k} <value>`);
      }
    }
  }
  return parsed;
}

/** Parses a TCP port option. */
export function parsePort(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UsageError(`--${flag} must be a port number 1-65535 (got '${value}')`, `e.g. --${flag} 18443`);
  }
  return n;
}
