// npm run tools -- [list|fetch|verify|path <name>] [--help]  (see scripts/lib/tools/cli.ts)
import { runMain } from './lib/cli/main.ts';
import { toolsCli } from './lib/tools/cli.ts';

await runMain(() => toolsCli(process.argv.slice(2)));
