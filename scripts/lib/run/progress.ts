// Step progress for people and for CI logs. On a terminal: a live list of steps with the one
// running and for how long. Without a TTY (CI): one plain line per step start and end, so logs
// stay readable and grep-able.
import type { StepRecord } from './types.ts';

export interface Progress {
  start(id: string, title: string): void;
  end(rec: StepRecord): void;
  note(line: string): void;
  close(): void;
}

function fmt(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

export { fmt as formatDuration };

const STATUS_WORD: Record<StepRecord['status'], string> = {
  ok: 'done ',
  failed: 'FAIL ',
  skipped: 'skip ',
  blocked: 'BLOCK',
};

export function plainProgress(out: NodeJS.WritableStream = process.stdout): Progress {
  const stamp = () => new Date().toISOString().slice(11, 19);
  return {
    start: (id, title) => out.write(`${stamp()} start ${id}: ${title}\n`),
    end: (r) =>
      out.write(
        `${stamp()} ${STATUS_WORD[r.status]} ${r.id} (${fmt(r.durationMs)})${r.error ? `: ${r.error}` : ''}\n`,
      ),
    note: (line) => out.write(`${stamp()}   ${line}\n`),
    close: () => {},
  };
}

/** Live view: finished steps scroll up; the running step is redrawn every second with its age. */
export function ttyProgress(out: NodeJS.WriteStream = process.stdout): Progress {
  let current: { id: string; title: string; since: number } | null = null;
  const draw = () => {
    if (!current) return;
    out.write(`\r\x1b[2K  … ${current.id}: ${current.title} (${fmt(Date.now() - current.since)})`);
  };
  const timer = setInterval(draw, 1000);
  timer.unref();
  return {
    start(id, title) {
      current = { id, title, since: Date.now() };
      draw();
    },
    end(r) {
      current = null;
      const mark =
        r.status === 'ok'
          ? '\x1b[32m✓\x1b[0m'
          : r.status === 'failed'
            ? '\x1b[31m✗\x1b[0m'
            : r.status === 'blocked'
              ? '\x1b[33m⊘\x1b[0m'
              : '-';
      out.write(
        `\r\x1b[2K  ${mark} ${r.id}: ${r.title} (${fmt(r.durationMs)})${r.error ? `\n      ${r.error}` : ''}\n`,
      );
    },
    note(line) {
      out.write(`\r\x1b[2K      ${line}\n`);
      draw();
    },
    close() {
      clearInterval(timer);
    },
  };
}

export function autoProgress(): Progress {
  return process.stdout.isTTY && !process.env.CI ? ttyProgress() : plainProgress();
}

/** The closing summary: where the time went, longest steps first. */
export function timingSummary(records: readonly StepRecord[]): string {
  const total = records.reduce((a, r) => a + r.durationMs, 0);
  const top = [...records].sort((a, b) => b.durationMs - a.durationMs).slice(0, 8);
  const lines = top.map(
    (r) =>
      `  ${fmt(r.durationMs).padStart(7)}  ${((100 * r.durationMs) / (total || 1)).toFixed(0).padStart(3)}%  ${r.id}`,
  );
  return `time by step (total ${fmt(total)}):\n${lines.join('\n')}`;
}
