// `npm run classify -- <file.pcap> [--json]`: every TCP flow of a capture, classified by content,
// and a summary. A file that cannot be read, is truncated or is not a capture exits 2 with the
// reason on one line (no stack trace).
import { BadInputError, UsageError } from '../../../scenarios/errors.ts';
import { parseCli } from '../cli/args.ts';
import { reportError } from '../cli/main.ts';
import type { FlowClass } from '../evidence/types.ts';
import { analyzeCaptureFile, type CaptureAnalysis, type FlowReport } from './analyze.ts';
import { PLAINTEXT_CLASSES } from './classify.ts';
import { CaptureFormatError, linkTypeName } from './pcap.ts';

export const classifyHelp = `Usage: npm run classify -- <file.pcap|file.pcapng> [--json] [--allow-truncated]

Reads a capture (classic pcap or pcapng; Ethernet, Linux cooked v1/v2 as written by
\`tcpdump -i any\`, loopback, raw IP; IPv4 and IPv6), reassembles every TCP flow and classifies it
by content, never by port: tls, http1, h2c, grpc-clear, postgres, plaintext-unknown,
binary-unknown, empty. Prints one line per flow (endpoints, bytes each way, class, TLS version,
SNI, ALPN, plaintext bytes) with what the decision rests on, then a summary.

Options:
  --json             machine-readable output (flows as FlowSummary objects plus details)
  --allow-truncated  accept a capture whose last record is cut short (warn instead of failing)
  --help             this text

Exit codes: 0 classified; 2 bad arguments, or a file that cannot be read, is truncated or is not
a capture (the reason is printed).
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export interface ClassifySummary {
  flows: number;
  byClass: Partial<Record<FlowClass, number>>;
  plaintextFlows: number;
  plaintextBytes: number;
  tlsFlows: number;
  tlsVersions: Record<string, number>;
  midstreamFlows: number;
  incompleteFlows: number;
}

export function summarize(flows: readonly FlowReport[]): ClassifySummary {
  const s: ClassifySummary = {
    flows: flows.length,
    byClass: {},
    plaintextFlows: 0,
    plaintextBytes: 0,
    tlsFlows: 0,
    tlsVersions: {},
    midstreamFlows: 0,
    incompleteFlows: 0,
  };
  for (const f of flows) {
    s.byClass[f.class] = (s.byClass[f.class] ?? 0) + 1;
    if (PLAINTEXT_CLASSES.has(f.class)) s.plaintextFlows++;
    s.plaintextBytes += f.plaintextBytes;
    if (f.class === 'tls') {
      s.tlsFlows++;
      const v = f.tlsVersion ?? 'not seen';
      s.tlsVersions[v] = (s.tlsVersions[v] ?? 0) + 1;
    }
    if (f.midstream) s.midstreamFlows++;
    if (f.incomplete) s.incompleteFlows++;
  }
  return s;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function bytes(n: number): string {
  if (n < 10_000) return String(n);
  if (n < 10_000_000) return `${(n / 1024).toFixed(1)}K`;
  return `${(n / 1024 / 1024).toFixed(1)}M`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i >= 4 && i <= 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function formatText(file: string, a: CaptureAnalysis): string {
  const lines: string[] = [];
  const lts = a.capture.linkTypes.map(linkTypeName).join(', ') || 'no interfaces';
  lines.push(
    `${file}: ${a.capture.format} (${a.capture.byteOrder}, ${lts}), ${plural(a.capture.packets, 'packet')} (${a.decode.tcp} TCP), ${plural(a.flows.length, 'flow')}`,
  );
  if (a.flows.length) {
    const rows = [['#', 'client', 'server', 'class', 'c->s', 's->c', 'clear', 'tls', 'sni', 'alpn']];
    for (const f of a.flows) {
      rows.push([
        String(f.id),
        f.client,
        f.server,
        f.class,
        bytes(f.bytesClientToServer),
        bytes(f.bytesServerToClient),
        bytes(f.plaintextBytes),
        f.tlsVersion ?? '-',
        f.sni ?? '-',
        f.alpn?.join(',') ?? '-',
      ]);
    }
    const t = table(rows);
    lines.push(t[0]!);
    a.flows.forEach((f, i) => {
      lines.push(t[i + 1]!);
      const notes = [
        f.detail,
        f.midstream ? `began before the capture (roles by ${f.roleBasis})` : undefined,
        f.incomplete,
      ].filter((x) => x);
      if (notes.length) lines.push(`    ${notes.join('; ')}`);
    });
  }
  const s = summarize(a.flows);
  const classes = Object.entries(s.byClass)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  lines.push('');
  lines.push(`summary: ${plural(s.flows, 'flow')}${classes ? `: ${classes}` : ''}`);
  lines.push(`  plaintext: ${plural(s.plaintextFlows, 'flow')}, ${s.plaintextBytes} bytes in clear`);
  const versions = Object.entries(s.tlsVersions)
    .map(([v, n]) => `${v} x${n}`)
    .join(', ');
  lines.push(`  tls: ${plural(s.tlsFlows, 'flow')}${versions ? ` (${versions})` : ''}`);
  if (s.midstreamFlows) lines.push(`  ${plural(s.midstreamFlows, 'flow')} began before the capture`);
  for (const w of a.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

function readError(e: unknown): string | null {
  if (e instanceof CaptureFormatError) return e.message;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'cannot read: no such file';
  if (code === 'EISDIR') return 'cannot read: it is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot read: permission denied';
  if (typeof code === 'string') return `cannot read: ${(e as Error).message}`;
  return null;
}

export function classifyCli(argv: string[], io: Io = stdio): number {
  try {
    return classify(argv, io);
  } catch (e) {
    return reportError(e, io.err);
  }
}

function classify(argv: string[], io: Io): number {
  const { values, positionals } = parseCli(
    argv,
    {
      json: { type: 'boolean' },
      'allow-truncated': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    io.out(classifyHelp);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? 'no capture file given'
        : `one capture file at a time (got ${positionals.length})`,
      'usage: npm run classify -- <file.pcap> [--json]',
    );
  }
  const file = positionals[0]!;
  let a: CaptureAnalysis;
  try {
    a = analyzeCaptureFile(file, { tolerateTruncatedTail: values['allow-truncated'] === true });
  } catch (e) {
    const why = readError(e);
    if (why === null) throw e;
    throw new BadInputError(
      file,
      undefined,
      why,
      /^truncated/.test(why)
        ? 'a capture cut mid-record: --allow-truncated reads what is there'
        : 'give a pcap or pcapng file (tcpdump -w)',
    );
  }
  if (values.json) {
    const out = {
      file,
      capture: a.capture,
      decode: a.decode,
      summary: summarize(a.flows),
      flows: a.flows,
      warnings: a.warnings,
    };
    io.out(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    io.out(formatText(file, a));
  }
  return 0;
}
