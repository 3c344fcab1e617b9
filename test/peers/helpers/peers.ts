// Real TLS servers on 127.0.0.1 for the real-peers tier: nginx and haproxy from Debian, openssl
// s_server, and the Go net/http / grpc-go server of tools/peers. Each starts on a free port in its
// own temp dir with certificates from the lab PKI, and is killed (by its own pid) at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from '../../../scripts/lib/lab/servers.ts';
import type { ProbeProtocol } from '../../../scripts/lib/probe/types.ts';
import { getFixture, SERVER_NAME } from '../../probe/helpers/fixture.ts';
import { peerServerBinary } from './build.ts';

export { SERVER_NAME };

/** Certificate files every peer reads (the server's key stays in the temp dir, never in a log). */
export interface CertFiles {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  /** cert + key in one file (haproxy's crt). */
  pem: string;
  /** A certificate of the same CA without the dialled name (the "missing SAN" mutation). */
  noSanCert: string;
  noSanKey: string;
  noSanPem: string;
}

let certFiles: Promise<CertFiles> | undefined;

export function peerCerts(): Promise<CertFiles> {
  certFiles ??= (async () => {
    const f = await getFixture();
    const noSan = await f.pki.leaf(
      'peers-no-san',
      { dnsNames: ['other.test'], usages: ['server auth'] },
      { ca: { namespace: 'probe', secretName: 'server' } },
    );
    const dir = await mkdtemp(join(tmpdir(), 'peers-certs-'));
    const files: CertFiles = {
      dir,
      ca: join(dir, 'ca.crt'),
      cert: join(dir, 'tls.crt'),
      key: join(dir, 'tls.key'),
      pem: join(dir, 'tls.pem'),
      noSanCert: join(dir, 'nosan.crt'),
      noSanKey: join(dir, 'nosan.key'),
      noSanPem: join(dir, 'nosan.pem'),
    };
    await writeFile(files.ca, f.ca);
    await writeFile(files.cert, f.server['tls.crt']);
    await writeFile(files.key, f.server['tls.key'], { mode: 0o600 });
    await writeFile(files.pem, `${f.server['tls.crt']}\n${f.server['tls.key']}`, { mode: 0o600 });
    await writeFile(files.noSanCert, noSan['tls.crt']);
    await writeFile(files.noSanKey, noSan['tls.key'], { mode: 0o600 });
    await writeFile(files.noSanPem, `${noSan['tls.crt']}\n${noSan['tls.key']}`, { mode: 0o600 });
    return files;
  })();
  return certFiles;
}

export async function removeCerts(): Promise<void> {
  if (!certFiles) return;
  const f = await certFiles;
  certFiles = undefined;
  await rm(f.dir, { recursive: true, force: true });
}

export interface RunningPeer {
  name: string;
  port: number;
  protocol: ProbeProtocol;
  /** ALPN the real client offers (gRPC: h2). */
  alpn?: string[];
  stop(): Promise<void>;
}

/** Resolves once something accepts TCP on the port (the server is up), or rejects with its output. */
async function waitForPort(port: number, child: ChildProcess, output: () => string, what: string) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}: ${output()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on ${port} within 15 s: ${output()}`);
}

async function startProcess(
  name: string,
  cmd: string,
  args: string[],
  port: number,
  protocol: ProbeProtocol,
  dir?: string,
): Promise<RunningPeer> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let out = '';
  const keep = (d: Buffer) => {
    if (out.length < 4000) out += d.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new Error(`cannot start ${cmd}: ${e.message}`)));
  });
  await spawned;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, () => out.trim(), name);
  } catch (e) {
    await stop();
    throw e;
  }
  return { name, port, protocol, ...(protocol === 'grpc' ? { alpn: ['h2'] } : {}), stop };
}

/** nginx settings of one peer (the server block's TLS lines and what `location /` does). */
export interface NginxMode {
  clientAuth?: 'on' | 'optional-403' | 'off';
  protocols?: string;
  ciphers?: string;
  http2?: boolean;
  noSan?: boolean;
  /** Refuse every request (403), the real client's too. */
  denyAll?: boolean;
}

export async function startNginx(name: string, m: NginxMode): Promise<RunningPeer> {
  const c = await peerCerts();
  const port = await closedPort();
  const dir = await mkdtemp(join(tmpdir(), 'peers-nginx-'));
  const auth =
    m.clientAuth === 'on'
      ? `ssl_verify_client on; ssl_client_certificate ${c.ca};`
      : m.clientAuth === 'optional-403'
        ? `ssl_verify_client optional; ssl_client_certificate ${c.ca};`
        : '';
  const gate = m.clientAuth === 'optional-403' ? 'if ($ssl_client_verify != SUCCESS) { return 403; }' : '';
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl${m.http2 ? ' http2' : ''};
    server_name ${SERVER_NAME};
    ssl_certificate ${m.noSan ? c.noSanCert : c.cert};
    ssl_certificate_key ${m.noSan ? c.noSanKey : c.key};
    ssl_protocols ${m.protocols ?? 'TLSv1.2 TLSv1.3'};
    ${m.ciphers ? `ssl_ciphers ${m.ciphers};` : ''}
    ${auth}
    location / {
      ${gate}
      ${m.denyAll ? 'return 403;' : 'return 200 "nginx peer\\n";'}
    }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  return startProcess(name, 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], port, 'http', dir);
}

export interface HaproxyMode {
  verify: 'required' | 'optional-403' | 'none';
  noSan?: boolean;
  minVer?: string;
  maxVer?: string;
}

export async function startHaproxy(name: string, m: HaproxyMode): Promise<RunningPeer> {
  const c = await peerCerts();
  const port = await closedPort();
  const dir = await mkdtemp(join(tmpdir(), 'peers-haproxy-'));
  const verify =
    m.verify === 'none'
      ? 'verify none'
      : `ca-file ${c.ca} verify ${m.verify === 'required' ? 'required' : 'optional'}`;
  const versions = [m.minVer ? `ssl-min-ver ${m.minVer}` : '', m.maxVer ? `ssl-max-ver ${m.maxVer}` : '']
    .filter(Boolean)
    .join(' ');
  const conf = `
global
  maxconn 64
defaults
  mode http
  timeout client 5s
  timeout connect 5s
  timeout server 5s
frontend peer
  bind 127.0.0.1:${port} ssl crt ${m.noSan ? c.noSanPem : c.pem} ${verify} ${versions} alpn h2,http/1.1
  ${m.verify === 'optional-403' ? 'http-request deny deny_status 403 unless { ssl_c_used } { ssl_c_verify 0 }' : ''}
  http-request return status 200 content-type text/plain string "haproxy peer"
`;
  await writeFile(join(dir, 'haproxy.cfg'), conf);
  return startProcess(name, 'haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], port, 'http', dir);
}

export interface SServerMode {
  /** -Verify 1 (certificate required) or -verify 1 (asked for, not required). */
  verify?: 'Verify' | 'verify';
  version?: 'tls1_2' | 'tls1_3';
}

export async function startSServer(name: string, m: SServerMode): Promise<RunningPeer> {
  const c = await peerCerts();
  const port = await closedPort();
  const args = ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', c.cert, '-key', c.key, '-www', '-quiet'];
  if (m.verify) args.push(`-${m.verify}`, '1', '-CAfile', c.ca);
  if (m.verify === 'Verify') args.push('-verify_return_error');
  if (m.version) args.push(`-${m.version}`);
  return startProcess(name, 'openssl', args, port, 'http');
}

export interface GoMode {
  kind: 'http' | 'grpc';
  clientAuth?: 'require' | 'if-given' | 'none';
  minTls?: '1.0' | '1.2' | '1.3';
  /** Go's own cipher list, as grpc-go v1.36 left it (v1.78 keeps the HTTP/2 suites: no CBC). */
  goCiphers?: boolean;
  h2c?: boolean;
  noSan?: boolean;
}

export async function startGoPeer(name: string, m: GoMode): Promise<RunningPeer> {
  const bin = await peerServerBinary((l) => process.stdout.write(`${l}\n`));
  const c = await peerCerts();
  const port = await closedPort();
  const args = ['-kind', m.kind, '-addr', `127.0.0.1:${port}`];
  if (m.h2c) args.push('-h2c');
  else {
    args.push('-cert', m.noSan ? c.noSanCert : c.cert, '-key', m.noSan ? c.noSanKey : c.key);
    args.push('-client-auth', m.clientAuth ?? 'none', '-client-ca', c.ca);
    if (m.minTls) args.push('-min-tls', m.minTls);
    if (m.goCiphers) args.push('-go-ciphers');
  }
  return startProcess(name, bin, args, port, m.kind === 'grpc' ? 'grpc' : 'http');
}
