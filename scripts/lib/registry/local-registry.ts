// A real local registry: CNCF Distribution v3 (cmd/registry, built from its module by
// scripts/lib/tools/go-build.ts) on 127.0.0.1 with TLS and token authentication, its certificates
// from the project's PKI helpers (one CA: the registry's serving certificate, the token endpoint's,
// and the token-signing certificate the registry trusts through `rootcertbundle`).
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { upstreamPins } from '../../../kind/versions.ts';
import { CouldNotRunError } from '../../../scenarios/errors.ts';
import type { CertSpec, IssuerSpec } from '../../../scenarios/index.ts';
import { buildComponents } from '../control-plane/build.ts';
import { LabPki } from '../lab/pki.ts';
import { startTokenServer, type TokenServer } from './token-server.ts';

/** The registry could not start (its binary exited, the port did not answer): exit 3. */
export class RegistryStartError extends CouldNotRunError {}

/** The pinned registry binary (kind/versions.ts upstreamPins.registry), built once and cached. */
export async function registryBinary(log: (line: string) => void = () => {}): Promise<string> {
  return (await buildComponents(log, { only: ['registry'] })).registry as string;
}

export const registryPin = upstreamPins.registry;

export interface LocalRegistry {
  /** `localhost:<port>`: the registry part of image references. */
  readonly host: string;
  readonly port: number;
  /** The CA that signed the registry's certificate (PEM), and a file holding it. */
  readonly caPem: string;
  readonly caFile: string;
  readonly tokenServer: TokenServer;
  /** A user the token server grants push to. */
  readonly pusher: { username: string; password: string };
  readonly configFile: string;
  stop(): Promise<void>;
}

const ISSUER = 'direktiv-tls-e2e-token-server';
const SERVICE = 'direktiv-tls-e2e-registry';

/** A free port on 127.0.0.1 (released before the registry binds it). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', () => ok()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

async function issueCertificates() {
  const issuers: IssuerSpec[] = [
    { kind: 'ClusterIssuer', name: 'selfsigned', type: 'selfSigned' },
    { kind: 'ClusterIssuer', name: 'registry-ca', type: 'ca', caSecret: 'registry-ca' },
  ];
  const cert = (name: string, dnsNames: string[], usages: CertSpec['usages'], isCA = false): CertSpec => ({
    name,
    namespace: 'cert-manager',
    secretName: name,
    dnsNames,
    ...(isCA ? { commonName: 'direktiv-tls-e2e registry CA' } : {}),
    usages,
    isCA,
    issuer: { kind: 'ClusterIssuer', name: isCA ? 'selfsigned' : 'registry-ca' },
  });
  const pki = await LabPki.issue('local-registry', issuers, [
    cert('registry-ca', [], ['cert sign', 'digital signature'], true),
    cert('registry-tls', ['localhost'], ['server auth', 'digital signature', 'key encipherment']),
    cert('token-signing', ['token-signing.localhost'], ['digital signature']),
  ]);
  const get = (n: string) => pki.secret('cert-manager', n) as NonNullable<ReturnType<LabPki['secret']>>;
  return { ca: get('registry-ca'), tls: get('registry-tls'), signing: get('token-signing') };
}

export interface StartOptions {
  /** The registry binary (registryBinary()). */
  readonly binary: string;
  readonly port?: number;
  readonly log?: (line: string) => void;
}

export async function startLocalRegistry(o: StartOptions): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'local-registry-'));
  const certs = await issueCertificates();
  const files = {
    ca: join(dir, 'ca.crt'),
    crt: join(dir, 'registry.crt'),
    key: join(dir, 'registry.key'),
    config: join(dir, 'config.yml'),
    storage: join(dir, 'storage'),
  };
  await mkdir(files.storage);
  await writeFile(files.ca, certs.ca['tls.crt']);
  await writeFile(files.crt, certs.tls['tls.crt']);
  await writeFile(files.key, certs.tls['tls.key'], { mode: 0o600 });
  const pusher = { username: 'pusher', password: `pw-${Math.random().toString(36).slice(2)}` };
  const tokenServer = await startTokenServer({
    tls: { cert: certs.tls['tls.crt'], key: certs.tls['tls.key'] },
    signing: { cert: certs.signing['tls.crt'], key: certs.signing['tls.key'] },
    issuer: ISSUER,
    service: SERVICE,
    users: { [pusher.username]: pusher.password },
  });
  const port = o.port ?? (await freePort());
  // Distribution's configuration reference (docs/content/about/configuration.md, v3.0.0).
  const config = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: files.storage }, delete: { enabled: true } },
    http: {
      addr: `127.0.0.1:${port}`,
      secret: `local-${port}`,
      tls: { certificate: files.crt, key: files.key },
    },
    auth: { token: { realm: tokenServer.realm, service: SERVICE, issuer: ISSUER, rootcertbundle: files.ca } },
  };
  await writeFile(files.config, stringify(config));
  const child = spawn(o.binary, ['serve', files.config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // v3 traces with OpenTelemetry; nothing here collects them.
    env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));

  const stop = async () => {
    if (exited === null) {
      const done = new Promise<void>((ok) => child.once('exit', () => ok()));
      child.kill('SIGTERM');
      await Promise.race([done, new Promise((ok) => setTimeout(ok, 5000))]);
      if (exited === null) child.kill('SIGKILL');
    }
    await tokenServer.close();
    await rm(dir, { recursive: true, force: true });
  };

  // Ready when /v2/ answers 401 with the token challenge (over TLS verified against the CA).
  const agent = new Agent({ connect: { ca: certs.ca['tls.crt'] } });
  const deadline = Date.now() + 20_000;
  try {
    for (;;) {
      if (exited !== null) {
        throw new RegistryStartError(
          `the registry exited (code ${exited}): ${output.trim().split('\n').slice(-5).join('\n')}`,
          `its config is ${files.config}`,
        );
      }
      try {
        const r = await request(`https://localhost:${port}/v2/`, { dispatcher: agent });
        await r.body.dump();
        if (r.statusCode === 401) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new RegistryStartError(
          `the registry did not answer on 127.0.0.1:${port} within 20 s: ${output.trim().split('\n').slice(-5).join('\n')}`,
          'is the port taken? (another process on it)',
        );
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    await agent.close();
  }
  o.log?.(`registry ${o.binary} on https://localhost:${port} (token realm ${tokenServer.realm})`);
  return {
    host: `localhost:${port}`,
    port,
    caPem: certs.ca['tls.crt'],
    caFile: files.ca,
    tokenServer,
    pusher,
    configFile: files.config,
    stop,
  };
}
