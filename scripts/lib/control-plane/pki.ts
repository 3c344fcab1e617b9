// The control plane's own PKI, the files kubeadm would write: one CA (clients and servers), the
// API server's serving certificate, loopback serving certificates for the other components, client
// certificates (admin, controller-manager, scheduler) and the service-account signing key pair.
// Keys are EC P-256 (Kubernetes accepts them everywhere), written 0600 and never logged.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;
/** A clock a little off must not make a fresh certificate "not yet valid". */
const BACKDATE_MS = 5 * 60 * 1000;

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END ${label}-----\n`;

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01;
  return Buffer.from(b).toString('hex');
}

interface Ca {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export interface LeafSpec {
  /** File name stem: `<name>.crt` and `<name>.key`. */
  name: string;
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ips?: string[];
  usage: 'server' | 'client' | 'both';
}

/** Paths of everything written, by purpose. */
export interface PkiFiles {
  dir: string;
  caCert: string;
  caKey: string;
  saPublic: string;
  saPrivate: string;
  leaf: Record<string, { cert: string; key: string }>;
}

const newKeys = () => webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

async function createCa(commonName: string): Promise<Ca> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + 10 * YEAR_MS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function issueLeaf(ca: Ca, spec: LeafSpec): Promise<{ certPem: string; keyPem: string }> {
  const keys = await newKeys();
  const now = Date.now();
  const eku = {
    server: [x509.ExtendedKeyUsage.serverAuth],
    client: [x509.ExtendedKeyUsage.clientAuth],
    both: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  }[spec.usage];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  const names = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(spec.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const subject = `CN=${spec.commonName}${spec.organization ? `, O=${spec.organization}` : ''}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + YEAR_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  return {
    certPem: cert.toString('pem'),
    keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** The first address of the service range: the `kubernetes` Service's ClusterIP. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

/** Writes the whole PKI into `dir` (created 0700). */
export async function writePki(dir: string): Promise<PkiFiles> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const put = (file: string, text: string, mode = 0o644) => writeFile(join(dir, file), text, { mode });
  const ca = await createCa('direktiv-tls-e2e control-plane CA');
  await put('ca.crt', ca.cert.toString('pem'));
  await put(
    'ca.key',
    pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', ca.keys.privateKey)),
    0o600,
  );

  const sa = await newKeys();
  await put('sa.pub', pem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', sa.publicKey)));
  await put('sa.key', pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', sa.privateKey)), 0o600);

  const loopback = { dnsNames: ['localhost'], ips: ['127.0.0.1'] };
  const leaves: LeafSpec[] = [
    {
      name: 'apiserver',
      commonName: 'kube-apiserver',
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ips: ['127.0.0.1', KUBERNETES_SERVICE_IP],
      usage: 'server',
    },
    { name: 'loopback-serving', commonName: 'control-plane loopback', ...loopback, usage: 'server' },
    // The subjects kubeadm gives these identities, so the bootstrap RBAC roles apply unchanged.
    { name: 'admin', commonName: 'kubernetes-admin', organization: 'system:masters', usage: 'client' },
    { name: 'controller-manager', commonName: 'system:kube-controller-manager', usage: 'client' },
    { name: 'scheduler', commonName: 'system:kube-scheduler', usage: 'client' },
  ];
  const leaf: PkiFiles['leaf'] = {};
  for (const spec of leaves) {
    const { certPem, keyPem } = await issueLeaf(ca, spec);
    await put(`${spec.name}.crt`, certPem);
    await put(`${spec.name}.key`, keyPem, 0o600);
    leaf[spec.name] = { cert: join(dir, `${spec.name}.crt`), key: join(dir, `${spec.name}.key`) };
  }
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    saPublic: join(dir, 'sa.pub'),
    saPrivate: join(dir, 'sa.key'),
    leaf,
  };
}

/** A kubeconfig for one client identity (paths, not embedded data: the files stay 0600). */
export function kubeconfigYaml(a: {
  server: string;
  caCert: string;
  cert: string;
  key: string;
  user: string;
}): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: direktiv-tls-control-plane',
    '  cluster:',
    `    server: ${a.server}`,
    `    certificate-authority: ${a.caCert}`,
    'users:',
    `- name: ${a.user}`,
    '  user:',
    `    client-certificate: ${a.cert}`,
    `    client-key: ${a.key}`,
    'contexts:',
    `- name: ${a.user}@direktiv-tls-control-plane`,
    '  context:',
    '    cluster: direktiv-tls-control-plane',
    `    user: ${a.user}`,
    `current-context: ${a.user}@direktiv-tls-control-plane`,
    '',
  ].join('\n');
}
