// A thin wrapper around the helm binary the caller supplies (tests: testHelm(); real runs: the
// pinned helm of the tools module). Values go through a temporary file, never the command line.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** helm exited non-zero; `reason` is the line a person needs (a chart `fail` message, say). */
export class HelmError extends Error {
  readonly stderr: string;
  readonly stdout: string;
  readonly reason: string;
  constructor(args: readonly string[], stderr: string, stdout = '') {
    const reason = helmReason(stderr);
    super(`helm ${args[0] ?? ''} failed: ${reason}`);
    this.name = 'HelmError';
    this.stderr = stderr;
    this.stdout = stdout;
    this.reason = reason;
  }
}

/** The message of a chart's `fail` without helm's "execution error at (file:line:col): " prefix. */
export function helmReason(stderr: string): string {
  const lines = stderr.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Error:'));
  if (start < 0) return stderr.trim().split('\n')[0] ?? '';
  // Schema errors follow the Error line as "- (root): ..." lines; keep them.
  const rest = lines.slice(start + 1).filter((l) => /^\s*- /.test(l));
  return [lines[start] ?? '', ...rest]
    .join(' ')
    .replace(/^Error:\s*/, '')
    .replace(/^execution error at \([^)]*\):\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function run(helm: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(helm, args, { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') reject(new Error(`helm not found at ${helm}`));
        else reject(new HelmError(args, stderr || err.message, stdout));
      } else resolve({ stdout, stderr });
    });
  });
}

async function withValuesFile<T>(values: object, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'dtp-values-'));
  try {
    const file = join(dir, 'values.yaml');
    await writeFile(file, stringify(values));
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface HelmChartCall {
  /** The helm binary. */
  helm: string;
  chartDir: string;
  releaseName: string;
  namespace: string;
  values: object;
}

/** `helm template`: the rendered manifests as one YAML stream. */
export function helmTemplate(c: HelmChartCall): Promise<string> {
  return withValuesFile(c.values, async (file) => {
    const args = ['template', c.releaseName, c.chartDir, '--namespace', c.namespace, '--values', file];
    return (await run(c.helm, args)).stdout;
  });
}

export interface LintResult {
  ok: boolean;
  output: string;
}

/**
 * `helm lint --strict`. Note: helm lints in a mode where a chart's `fail` only logs, so bad
 * values are caught by helmTemplate, not here.
 */
export function helmLint(c: Omit<HelmChartCall, 'releaseName'>): Promise<LintResult> {
  return withValuesFile(c.values, async (file) => {
    const args = ['lint', '--strict', c.chartDir, '--namespace', c.namespace, '--values', file];
    try {
      const r = await run(c.helm, args);
      return { ok: true, output: r.stdout + r.stderr };
    } catch (e) {
      if (e instanceof HelmError) return { ok: false, output: e.stdout + e.stderr };
      throw e;
    }
  });
}
