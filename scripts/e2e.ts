// `npm run e2e`: the real run on kind, or its plan with --dry-run. See README "Options".

import { parseE2eArgs } from './lib/cli/e2e-args.ts';
import { E2E_HELP } from './lib/cli/e2e-help.ts';
import { runMain } from './lib/cli/main.ts';
import { runE2e } from './lib/run/e2e.ts';

await runMain(async () => {
  const opts = parseE2eArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(E2E_HELP);
    return 0;
  }
  return runE2e(opts);
});
