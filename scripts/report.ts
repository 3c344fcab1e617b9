// npm run report -- <run.json> --html <file>: see scripts/lib/report/cli.ts and --help.
import { runMain } from './lib/cli/main.ts';
import { reportCli } from './lib/report/cli.ts';

const io = { stdout: (s: string) => process.stdout.write(s), stderr: (s: string) => process.stderr.write(s) };
await runMain(() => reportCli(process.argv.slice(2), io));
