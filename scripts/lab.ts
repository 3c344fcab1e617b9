// npm run lab -- --profile <name>: see scripts/lib/lab/cli.ts and --help.
import { runMain } from './lib/cli/main.ts';
import { labCli } from './lib/lab/cli.ts';

const io = { stdout: (s: string) => process.stdout.write(s), stderr: (s: string) => process.stderr.write(s) };
await runMain(() => labCli(process.argv.slice(2), io));
