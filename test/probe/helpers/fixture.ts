// A small PKI and listeners for the probe tests: a CA (cert-manager style chain), a server
// certificate for svc.test and *.default, a client certificate, and flawed variants.
import type { CertSpec, IssuerSpec } from '../../../scenarios/index.ts';
import { LabPki, type SecretData } from '../../../scripts/lib/lab/pki.ts';
import {
  type AppServer,
  goHandler,
  type ListenerConfig,
  type RunningListener,
  startListener,
} from '../../../scripts/lib/lab/servers.ts';

export const SERVER_NAME = 'svc.test';

const issuers: IssuerSpec[] = [
  { kind: 'ClusterIssuer', name: 'self', type: 'selfSigned' },
  { kind: 'ClusterIssuer', name: 'test-ca', type: 'ca', caSecret: 'test-ca' },
];
const cert = (
  name: string,
  dnsNames: string[],
  usages: CertSpec['usages'],
  extra: Partial<CertSpec> = {},
): CertSpec => ({
  name,
  namespace: 'probe',
  secretName: name,
  dnsNames,
  usages,
  isCA: false,
  issuer: { kind: 'ClusterIssuer', name: 'test-ca' },
  ...extra,
});
const certs: CertSpec[] = [
  cert('test-ca', [], [], {
    namespace: 'cert-manager',
    isCA: true,
    commonName: 'probe-test-ca',
    issuer: { kind: 'ClusterIssuer', name: 'self' },
  }),
  cert('server', [SERVER_NAME, '*.default'], ['server auth', 'client auth']),
  cert('client', ['client.test'], ['client auth']),
];

export interface Fixture {
  pki: LabPki;
  ca: string;
  server: SecretData;
  client: { cert: string; key: string };
  foreignClient: { cert: string; key: string };
  foreignServer: SecretData;
  expiredServer: SecretData;
}

let fixture: Promise<Fixture> | undefined;

export function getFixture(): Promise<Fixture> {
  fixture ??= (async () => {
    const pki = await LabPki.issue('probe-tests', issuers, certs);
    const server = pki.secret('probe', 'server')!;
    const client = pki.secret('probe', 'client')!;
    const foreign = await pki.leaf(
      'foreign-client',
      { dnsNames: ['x.test'], usages: ['client auth'] },
      'foreign',
    );
    return {
      pki,
      ca: server['ca.crt'],
      server,
      client: { cert: client['tls.crt'], key: client['tls.key'] },
      foreignClient: { cert: foreign['tls.crt'], key: foreign['tls.key'] },
      foreignServer: await pki.leaf(
        'foreign-server',
        { dnsNames: [SERVER_NAME], usages: ['server auth'] },
        'foreign',
      ),
      expiredServer: await pki.leaf(
        'expired-server',
        { dnsNames: [SERVER_NAME], usages: ['server auth'], validity: 'expired' },
        { ca: { namespace: 'probe', secretName: 'server' } },
      ),
    };
  })();
  return fixture;
}

/** Starts listeners and stops them all at the end of a test. */
export class Listeners {
  private running: RunningListener[] = [];
  async start(cfg: ListenerConfig, app: AppServer = { kind: 'http', handler: goHandler('test') }) {
    const l = await startListener(cfg, app);
    this.running.push(l);
    return l;
  }
  async stop() {
    await Promise.all(this.running.map((r) => r.close()));
    this.running = [];
  }
}

export function tlsConfig(
  s: SecretData,
  extra: Partial<NonNullable<ListenerConfig['tls']>> = {},
): NonNullable<ListenerConfig['tls']> {
  return {
    cert: s['tls.crt'],
    key: s['tls.key'],
    clientCa: s['ca.crt'],
    clientAuth: 'none',
    alpn: ['h2', 'http/1.1'],
    ...extra,
  };
}
