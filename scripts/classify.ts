// npm run classify -- <file.pcap> [--json]  (see scripts/lib/capture/cli.ts)
import { classifyCli } from './lib/capture/cli.ts';
import { runMain } from './lib/cli/main.ts';

await runMain(async () => classifyCli(process.argv.slice(2)));
