// `npm run e2e`: the real run on kind, or its plan with --dry-run. See README "Options".
import { runMain } from './lib/cli/main.ts';
import { e2eMain } from './lib/run/e2e.ts';

await runMain(() => e2eMain(process.argv.slice(2)));
