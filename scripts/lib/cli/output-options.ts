// The report files every command that produces a run report can write: one option set, one help
// text, one writer, shared by e2e, lab, control-plane and report (npm run report draws a saved
// JSON report). A command spreads REPORT_OUTPUT_OPTIONS into its parseArgs options, checks the
// values with reportOutputs() before it runs anything, and calls writeReportOutputs() at the end.
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../../../scenarios/errors.ts';
import type { HtmlReport } from '../report/html.ts';
import { renderJson, renderJunit, renderMarkdown, renderTerminal } from '../report/render.ts';

export const REPORT_FORMATS = ['json', 'junit', 'markdown', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const REPORT_OUTPUT_OPTIONS = {
  json: { type: 'string' },
  junit: { type: 'string' },
  markdown: { type: 'string' },
  html: { type: 'string' },
} as const;

export const REPORT_OUTPUT_HELP = `  --json <file>          write the JSON report (every piece of evidence)
  --junit <file>         write JUnit XML (one test case per profile x path)
  --markdown <file>      write a Markdown summary (for a CI job summary; a Mermaid topology chart)
  --html <file>          write one self-contained HTML page: the topology of each profile with
                         arrows coloured by verdict and their evidence on hover/focus, the
                         profile x path heat map, the steps; opens offline
`;

export type ReportOutputs = Partial<Record<ReportFormat, string>>;

/** A report file's absolute path; bad input (missing folder, a folder given) is a UsageError. */
export function outputFile(flag: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  const full = resolve(file);
  const dir = dirname(full);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`--${flag}: folder ${dir} does not exist`, 'create it first, or write elsewhere');
  }
  if (existsSync(full) && statSync(full).isDirectory()) {
    throw new UsageError(`--${flag}: ${full} is a folder`, 'give a file name');
  }
  return full;
}

/** Checks every report option given; call it before the run starts. */
export function reportOutputs(values: Partial<Record<ReportFormat, string | undefined>>): ReportOutputs {
  const out: ReportOutputs = {};
  for (const f of REPORT_FORMATS) {
    const file = outputFile(f, values[f]);
    if (file) out[f] = file;
  }
  return out;
}

export interface WriteExtras {
  /** Fields beside the report in the JSON (a cluster run's steps and traffic record). */
  json?: Record<string, unknown>;
  /** Text after the Markdown report (the documentation check of an as-documented run). */
  markdownSuffix?: string;
  /**
   * A cluster run's reports must not be lost to a drawing bug: when the picture cannot be drawn,
   * write a page that says so (with the terminal report) and warn, instead of failing.
   */
  htmlFallback?: boolean;
}

/**
 * The HTML form, written last. With `fallback`, a failure to draw gives a page that says the
 * drawing failed and why and carries the terminal report; without it, the error stands.
 */
async function htmlOrFallback(report: HtmlReport, fallback: boolean): Promise<string> {
  try {
    // Loaded on demand: the layout engine is a large module that only the HTML form needs.
    return await (await import('../report/html.ts')).renderHtml(report);
  } catch (e) {
    if (!fallback) throw e;
    process.stderr.write(`warning: the HTML report could not be drawn: ${(e as Error).message}\n`);
    const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Direktiv TLS assertions</title></head><body><p><b>The topology could not be drawn:</b> ${esc(
      (e as Error).message,
    )}</p><pre>${esc(renderTerminal(report))}</pre></body></html>\n`;
  }
}

/** Renders and writes each requested form (folders are created); returns the files written. */
export async function writeReportOutputs(
  report: HtmlReport,
  outputs: ReportOutputs,
  extras: WriteExtras = {},
): Promise<string[]> {
  const bodies: Array<[string | undefined, () => Promise<string> | string]> = [
    [
      outputs.json,
      () =>
        extras.json
          ? `${JSON.stringify({ ...(JSON.parse(renderJson(report)) as object), ...extras.json }, null, 2)}\n`
          : renderJson(report),
    ],
    [outputs.junit, () => renderJunit(report)],
    [
      outputs.markdown,
      () => renderMarkdown(report) + (extras.markdownSuffix ? `\n${extras.markdownSuffix}` : ''),
    ],
    [
      outputs.html,
      () => htmlOrFallback({ ...report, ...(extras.json ?? {}) } as HtmlReport, extras.htmlFallback ?? false),
    ],
  ];
  const written: string[] = [];
  for (const [file, body] of bodies) {
    if (!file) continue;
    const text = await body();
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
    written.push(file);
  }
  return written;
}
