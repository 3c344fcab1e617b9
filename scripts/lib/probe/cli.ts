// `npm run probe`: one active probe of one server against an expectation. Exit codes as every
// command (scripts/lib/cli/exit-codes.ts): 0 holds, 1 does not, 2 bad input, 3 nothing listens
// at the target, 4 undecided.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { PathExpectation } from '../../../scenarios/index.ts';
import { CouldNotRunError, UsageError } from '../../../scenarios/index.ts';
import { parseCli, parsePort } from '../cli/args.ts';
import { exitCodeForStatuses, statusOf } from '../cli/exit-codes.ts';
import { reportError } from '../cli/main.ts';
import { foreignClientCertificate } from '../lab/pki.ts';
import { probeTarget } from './probe.ts';
import { parseAnchors } from './tls.ts';
import type { ProbeCredentials, ProbeTarget } from './types.ts';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const PROBE_HELP = `Usage: npm run probe -- --target <host:port> --protocol grpc|https|http --expect plain|tls|mtls [options]

Probes one server the way the harness probes a Direktiv path and says whether the expectation holds.

  --target <host:port>     address to dial ([::1]:6666 for IPv6)
  --protocol <p>           grpc (HTTP/2 gRPC), https (HTTP over TLS), http (plain HTTP)
  --expect <state>         plain: plaintext must be served
                           tls: TLS 1.2+ required, plaintext refused, certificate valid for --server-name
                           mtls: tls, plus no client certificate and a foreign-CA certificate refused,
                                 and --client-cert accepted
                           https: tls, plus --plain-port must redirect to https
  --ca <file>              PEM CA the certificate must chain to (required for tls, mtls, https)
  --client-cert <file>     PEM client certificate (required for mtls)
  --client-key <file>      PEM key of --client-cert
  --server-name <name>     name the real client dials: SNI, authority, required SAN
                           (default: the target host, when it is a name)
  --plain-port <port>      the plain port beside a TLS port (Envoy's 80)
  --timeout <ms>           deadline of every dial (default 3000)
  --json                   print the evidence as JSON
  --help                   this text

Exit codes: 0 expectation holds, 1 it does not, 2 bad input, 3 nothing answers at --target,
4 inconclusive (the server refuses the real client too: no refusal can be told apart).
`;

const OPTIONS = {
  target: { type: 'string' },
  protocol: { type: 'string' },
  expect: { type: 'string' },
  ca: { type: 'string' },
  'client-cert': { type: 'string' },
  'client-key': { type: 'string' },
  'server-name': { type: 'string' },
  'plain-port': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

function parseTarget(v: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:]+):(\d+)$/.exec(v);
  if (!m)
    throw new UsageError(`malformed --target '${v}'`, 'give host:port, e.g. 127.0.0.1:6666 or [::1]:6666');
  return { host: m[1]!, port: parsePort('target', m[2]!) };
}

function readPem(flag: string, file: string, kind: 'cert' | 'key'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read --${flag} ${file}: ${(e as Error).message}`,
      'give a readable PEM file',
    );
  }
  try {
    if (kind === 'cert') {
      if (parseAnchors(text).length === 0) throw new Error('no CERTIFICATE block');
    } else createPrivateKey(text);
  } catch (e) {
    throw new UsageError(
      `--${flag} ${file} is not a PEM ${kind === 'cert' ? 'certificate' : 'private key'}: ${(e as Error).message}`,
      'give a PEM file',
    );
  }
  return text;
}

/**
 * Something must listen at the target, or there is nothing to judge: the probe cannot run (3),
 * which must not read as "the server accepts plaintext" or "TLS is missing".
 */
function assertListening(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const fail = (why: string) => {
      s.destroy();
      reject(
        new CouldNotRunError(
          `nothing answers at ${host}:${port} (${why})`,
          'start the server, or check --target (a port-forward must be running)',
        ),
      );
    };
    s.setTimeout(timeoutMs, () => fail(`no connection within ${timeoutMs} ms`));
    s.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
  });
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;

/** What tests replace: the check that something listens at the target (the first dial). */
export interface ProbeCliDeps {
  listening?: (host: string, port: number, timeoutMs: number) => Promise<void>;
}

export async function probeCli(argv: string[], io: CliIo, deps: ProbeCliDeps = {}): Promise<number> {
  try {
    const { values } = parseCli(argv, OPTIONS);
    if (values.help) {
      io.stdout(PROBE_HELP);
      return 0;
    }
    for (const k of ['target', 'protocol', 'expect'] as const) {
      if (!values[k])
        throw new UsageError(`missing --${k}`, 'e.g. --target 127.0.0.1:6666 --protocol grpc --expect tls');
    }
    const { host, port } = parseTarget(values.target!);
    const protocol = values.protocol!;
    if (!['grpc', 'https', 'http'].includes(protocol)) {
      throw new UsageError(`unknown --protocol '${protocol}'`, 'valid protocols: grpc, https, http');
    }
    const expect = values.expect!;
    if (!['plain', 'tls', 'mtls', 'https'].includes(expect)) {
      throw new UsageError(`unknown --expect '${expect}'`, 'valid expectations: plain, tls, mtls, https');
    }
    if (protocol === 'http' && expect !== 'plain') {
      throw new UsageError(
        `--protocol http means plain HTTP, but --expect ${expect}`,
        'use --protocol https with tls, mtls or https',
      );
    }
    if (protocol === 'https' && expect === 'plain') {
      throw new UsageError(
        '--protocol https with --expect plain',
        'use --protocol http to expect plain HTTP',
      );
    }
    if (expect === 'https' && !values['plain-port']) {
      throw new UsageError(
        '--expect https needs --plain-port',
        'give the plain port that must redirect, e.g. --plain-port 80',
      );
    }
    const tlsExpected = expect !== 'plain';
    const creds: ProbeCredentials = {};
    if (values.ca) creds.ca = readPem('ca', values.ca, 'cert');
    else if (tlsExpected)
      throw new UsageError(
        `--expect ${expect} needs --ca`,
        'give the CA the certificate must chain to: --ca ca.crt',
      );
    const certFile = values['client-cert'];
    const keyFile = values['client-key'];
    if (Boolean(certFile) !== Boolean(keyFile)) {
      throw new UsageError('--client-cert and --client-key go together', 'give both, or neither');
    }
    if (certFile && keyFile) {
      const cert = readPem('client-cert', certFile, 'cert');
      const key = readPem('client-key', keyFile, 'key');
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
        throw new UsageError(
          '--client-key does not belong to --client-cert',
          'give the key of that certificate',
        );
      }
      creds.clientCert = { cert, key };
    } else if (expect === 'mtls') {
      throw new UsageError(
        '--expect mtls needs --client-cert and --client-key',
        'give the real client certificate and its key',
      );
    }
    const serverName = values['server-name'] ?? (net.isIP(host) ? undefined : host);
    if (!serverName) {
      throw new UsageError(
        'the target is an IP address: give --server-name',
        'the name the real client dials, e.g. --server-name direktiv-ingress-hl.default',
      );
    }
    if (!HOST_NAME.test(serverName))
      throw new UsageError(`malformed --server-name '${serverName}'`, 'give a DNS name');
    const timeoutMs = values.timeout ? Number(values.timeout) : undefined;
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000)) {
      throw new UsageError(
        `--timeout must be milliseconds 1-600000 (got '${values.timeout}')`,
        'e.g. --timeout 3000',
      );
    }
    await (deps.listening ?? assertListening)(host, port, timeoutMs ?? 3000);
    if (expect === 'mtls') {
      const f = await foreignClientCertificate();
      creds.foreignClientCert = { cert: f['tls.crt'], key: f['tls.key'] };
    }
    const target: ProbeTarget = {
      protocol: protocol === 'grpc' ? 'grpc' : 'http',
      address: host,
      port,
      serverName,
    };
    if (values['plain-port']) target.plainPort = parsePort('plain-port', values['plain-port']);
    const expected: PathExpectation = { state: expect as PathExpectation['state'] };
    const ev = await probeTarget(target, expected, creds, timeoutMs ? { timeoutMs } : {});
    const failed = ev.checks.filter((c) => !c.ok && c.status !== 'inconclusive');
    const undecided = ev.checks.filter((c) => !c.ok && c.status === 'inconclusive');
    if (values.json) io.stdout(`${JSON.stringify(ev, null, 2)}\n`);
    else {
      const lines = [
        `probe ${protocol} ${values.target} as ${serverName}, expect ${expect}: observed ${ev.observed}`,
      ];
      for (const c of ev.checks) {
        lines.push(
          `  ${c.ok ? (c.warning ? '!' : '✓') : c.status === 'inconclusive' ? '?' : '✗'} ${c.name}: ${c.ok ? c.detail : `${c.reason} (${c.detail})`}`,
        );
        if (c.warning) lines.push(`      warning: ${c.warning}`);
      }
      lines.push(
        failed.length
          ? `RESULT: FAIL: ${failed.map((c) => c.reason).join('; ')}`
          : undecided.length
            ? `RESULT: INCONCLUSIVE: ${undecided.map((c) => `${c.name}: ${c.reason}`).join('; ')}`
            : 'RESULT: PASS',
      );
      io.stdout(`${lines.join('\n')}\n`);
    }
    return exitCodeForStatuses(ev.checks.map(statusOf));
  } catch (e) {
    return reportError(e, io.stderr);
  }
}
