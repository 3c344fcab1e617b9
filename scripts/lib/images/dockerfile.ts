// Reads the final stage of a Dockerfile (parsed with dockerfile-ast, the parser of VS Code's
// Docker extension) into what an image builder copies into the image config: entrypoint, cmd,
// user, workdir, exposed ports, env, volumes, and the COPY lines that place files. RUN lines
// cannot be replayed without the base image's userland; they are listed so a report can say so.
import { DockerfileParser } from 'dockerfile-ast';

export interface DockerfileCopy {
  /** `--from=<stage>`: a file from a build stage (the binary), else from the build context. */
  readonly from?: string;
  readonly sources: string[];
  readonly destination: string;
}

export interface DockerfileConfig {
  /** The final stage's base image. */
  readonly base: string;
  readonly entrypoint?: string[];
  readonly cmd?: string[];
  readonly user?: string;
  readonly workdir?: string;
  /** `5000/tcp` form. */
  readonly exposedPorts: string[];
  readonly env: Record<string, string>;
  readonly volumes: string[];
  readonly copies: DockerfileCopy[];
  readonly runs: string[];
}

/** Exec form `["a","b"]` as is; shell form runs under /bin/sh -c (Docker's rule). */
function command(text: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      return JSON.parse(t) as string[];
    } catch {
      // not valid JSON: Docker falls back to the shell form
    }
  }
  return ['/bin/sh', '-c', t];
}

export function readDockerfile(text: string): DockerfileConfig {
  const df = DockerfileParser.parse(text);
  const froms = df.getFROMs();
  const last = froms.at(-1);
  if (!last) throw new Error('no FROM in the Dockerfile');
  const startLine = last.getRange().start.line;
  const out: {
    -readonly [K in keyof DockerfileConfig]: DockerfileConfig[K];
  } = {
    base: last.getImageName() ?? last.getArgumentsContent() ?? '',
    exposedPorts: [],
    env: {},
    volumes: [],
    copies: [],
    runs: [],
  };
  if (last.getImageTag()) out.base += `:${last.getImageTag()}`;
  for (const i of df.getInstructions()) {
    if (i.getRange().start.line <= startLine) continue;
    const args = i.getArguments().map((a) => a.getValue());
    const content = i.getArgumentsContent() ?? '';
    switch (i.getKeyword()) {
      case 'ENTRYPOINT':
        out.entrypoint = command(content);
        // Docker: a later ENTRYPOINT resets an inherited CMD.
        break;
      case 'CMD':
        out.cmd = command(content);
        break;
      case 'USER':
        out.user = content.trim();
        break;
      case 'WORKDIR':
        out.workdir = content.trim();
        break;
      case 'EXPOSE':
        for (const p of args) out.exposedPorts.push(p.includes('/') ? p : `${p}/tcp`);
        break;
      case 'ENV': {
        // `ENV A=b C=d` or the legacy `ENV A b`.
        if (args.length === 2 && !args[0]?.includes('=')) out.env[args[0] as string] = args[1] as string;
        else
          for (const a of args) {
            const eq = a.indexOf('=');
            if (eq > 0) out.env[a.slice(0, eq)] = a.slice(eq + 1).replace(/^"(.*)"$/, '$1');
          }
        break;
      }
      case 'VOLUME':
        out.volumes.push(...(content.trim().startsWith('[') ? (JSON.parse(content) as string[]) : args));
        break;
      case 'COPY':
      case 'ADD': {
        const flags = (
          i as unknown as { getFlags(): { getName(): string; getValue(): string | null }[] }
        ).getFlags();
        const from = flags.find((f) => f.getName() === 'from')?.getValue() ?? undefined;
        const paths = args.filter((a) => !a.startsWith('--'));
        out.copies.push({
          ...(from ? { from } : {}),
          sources: paths.slice(0, -1),
          destination: paths.at(-1) as string,
        });
        break;
      }
      case 'RUN':
        out.runs.push(content.trim());
        break;
    }
  }
  return out;
}
