// `npm run control-plane`: a profile on a local Kubernetes control plane, no Docker. See README
// "Control-plane tier (no Docker)".
import { CONTROL_PLANE_HELP, parseControlPlaneArgs } from './lib/cli/control-plane-args.ts';
import { runMain } from './lib/cli/main.ts';
import { runControlPlane } from './lib/run/control-plane-run.ts';

await runMain(async () => {
  const opts = parseControlPlaneArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(CONTROL_PLANE_HELP);
    return 0;
  }
  return runControlPlane(opts);
});
