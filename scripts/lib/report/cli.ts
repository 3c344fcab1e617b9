// `npm run report -- <run.json> --html <file>`: draws a saved JSON report (from e2e, lab or
// control-plane --json) in the other forms, without running anything again. Exit 0 when the
// report's verdicts hold, 1 when one fails, 2 on bad input (a malformed report: one line naming
// the file and the problem).

import { UsageError } from '../../../scenarios/errors.ts';
import { parseCli } from '../cli/args.ts';
import { exitCodeFor } from '../cli/exit-codes.ts';
import { reportError } from '../cli/main.ts';
import {
  REPORT_OUTPUT_HELP,
  REPORT_OUTPUT_OPTIONS,
  reportOutputs,
  writeReportOutputs,
} from '../cli/output-options.ts';
import type { CliIo } from '../probe/cli.ts';
import { readReport } from './load.ts';
import { renderTerminal } from './render.ts';

export const REPORT_HELP = `Usage: npm run report -- <run.json> [--html <file>] [--markdown <file>] [--junit <file>] [--json <file>]

Draws a saved JSON run report (e2e, lab or control-plane --json) again: prints the terminal
report and writes the forms asked for. Nothing runs again.

${REPORT_OUTPUT_HELP}  --quiet                do not print the terminal report
  --help                 this text

Exit codes: 0 the report's verdicts hold, 1 a verdict fails, 2 bad input (a missing or malformed
report file: one line naming the file and the problem), 4 a verdict is inconclusive.
`;

const OPTIONS = { ...REPORT_OUTPUT_OPTIONS, quiet: { type: 'boolean' }, help: { type: 'boolean' } } as const;

export async function reportCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await draw(argv, io);
  } catch (e) {
    return reportError(e, io.stderr);
  }
}

async function draw(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCli(argv, OPTIONS, true);
  if (values.help) {
    io.stdout(REPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length
        ? `one report at a time (got ${positionals.length} files)`
        : 'missing the report file',
      'npm run report -- out/report.json --html out/report.html',
    );
  }
  const file = positionals[0]!;
  const outputs = reportOutputs(values);
  const report = readReport(file);
  if (!values.quiet) io.stdout(renderTerminal(report));
  for (const f of await writeReportOutputs(report, outputs)) io.stderr(`wrote ${f}\n`);
  return exitCodeFor(report);
}
