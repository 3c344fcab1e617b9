// npm run probe -- --target host:port --protocol grpc|https|http --expect plain|tls|mtls ...: see --help.
import { runMain } from './lib/cli/main.ts';
import { probeCli } from './lib/probe/cli.ts';

const io = { stdout: (s: string) => process.stdout.write(s), stderr: (s: string) => process.stderr.write(s) };
await runMain(() => probeCli(process.argv.slice(2), io));
