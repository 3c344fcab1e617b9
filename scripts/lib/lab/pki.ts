// A local cert-manager for the lab: issues the certificates a profile's CertSpec[] and IssuerSpec[]
// describe, the way cert-manager v1.x would (selfSigned and CA issuers, SANs, key usages, secrets
// with tls.crt, tls.key and ca.crt), plus the deliberately wrong ones the mutations plant: a
// FOREIGN CA, expired certificates, certificates missing a SAN.
// EC P-256 keys through Node's webcrypto: a key costs well under a millisecond.
import 'reflect-metadata';
import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { CertSpec, IssuerSpec, KeyUsage } from '../../../scenarios/index.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** cert-manager's default Certificate duration (90 days). */
const DEFAULT_VALIDITY_MS = 90 * 24 * 3600 * 1000;
/** Backdate notBefore a little so a clock a few seconds off never makes a fresh cert "not yet valid". */
const BACKDATE_MS = 60 * 1000;

/** The three keys cert-manager writes into a certificate's Secret. */
export interface SecretData {
  'tls.crt': string;
  'tls.key': string;
  'ca.crt': string;
}

export interface IssuedCert {
  /** The spec it was issued from; null for certificates the lab makes up (mutations). */
  spec: CertSpec | null;
  secret: SecretData;
  /** The leaf as Node parses it (public facts only). */
  cert: NodeX509;
}

interface Signer {
  certPem: string;
  subject: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export interface LeafOptions {
  dnsNames: string[];
  usages: KeyUsage[];
  commonName?: string;
  isCA?: boolean;
  /** Default: valid from now for 90 days. 'expired': ended yesterday. */
  validity?: 'valid' | 'expired';
}

const keyCache = new Map<string, Promise<CryptoKeyPair>>();

/** One key pair per label per process: the lab matrix re-issues certificates but reuses keys. */
function keyPair(label: string): Promise<CryptoKeyPair> {
  let k = keyCache.get(label);
  if (!k) {
    k = webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
    keyCache.set(label, k);
  }
  return k;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

/** cert-manager's BuildKeyUsages: no usages means digital signature + key encipherment; CAs add cert sign. */
function usageExtensions(usages: readonly KeyUsage[], isCA: boolean): x509.Extension[] {
  const list = usages.length ? usages : (['digital signature', 'key encipherment'] as KeyUsage[]);
  let ku = isCA ? x509.KeyUsageFlags.keyCertSign : 0;
  const eku: string[] = [];
  for (const u of list) {
    if (u === 'digital signature') ku |= x509.KeyUsageFlags.digitalSignature;
    else if (u === 'key encipherment') ku |= x509.KeyUsageFlags.keyEncipherment;
    else if (u === 'cert sign') ku |= x509.KeyUsageFlags.keyCertSign;
    else if (u === 'server auth') eku.push(x509.ExtendedKeyUsage.serverAuth);
    else if (u === 'client auth') eku.push(x509.ExtendedKeyUsage.clientAuth);
  }
  const out: x509.Extension[] = [];
  // Go's x509 (what cert-manager uses) omits the extension when no bit is set.
  if (ku) out.push(new x509.KeyUsagesExtension(ku, true));
  if (eku.length) out.push(new x509.ExtendedKeyUsageExtension(eku, false));
  return out;
}

function validityWindow(v: LeafOptions['validity']): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  if (v === 'expired') {
    return { notBefore: new Date(now - 3 * 24 * 3600 * 1000), notAfter: new Date(now - 24 * 3600 * 1000) };
  }
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + DEFAULT_VALIDITY_MS) };
}

function serial(): string {
  // Positive 16-byte serial, like cert-manager's random 128-bit serials.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01;
  return Buffer.from(b).toString('hex');
}

async function issue(
  keyLabel: string,
  opts: LeafOptions,
  signer: Signer | 'self',
): Promise<{ certPem: string; keyPem: string; signer: Signer }> {
  const keys = await keyPair(keyLabel);
  // cert-manager leaves the subject empty without commonName; an empty subject must not let a
  // checker fall back to a CN that happens to match.
  const subject = opts.commonName ? `CN=${opts.commonName}` : '';
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(opts.isCA ?? false, undefined, true),
    ...usageExtensions(opts.usages, opts.isCA ?? false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  // Subject-less certificates must mark the SAN critical (RFC 5280 4.2.1.6), as Go does.
  if (opts.dnsNames.length) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        subject === '',
      ),
    );
  }
  const { notBefore, notAfter } = validityWindow(opts.validity);
  let cert: x509.X509Certificate;
  if (signer === 'self') {
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      keys,
      extensions,
    });
  } else {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.publicKey));
    cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: signer.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: signer.privateKey,
      extensions,
    });
  }
  const certPem = cert.toString('pem');
  return {
    certPem,
    keyPem: await keyPem(keys.privateKey),
    signer: { certPem, subject: cert.subject, privateKey: keys.privateKey, publicKey: keys.publicKey },
  };
}

function secretKey(namespace: string, secretName: string): string {
  return `${namespace}/${secretName}`;
}

/** The certificates of one profile, issued locally; a lookup by Secret like a cluster's. */
export class LabPki {
  private constructor(
    readonly label: string,
    private readonly secrets: Map<string, IssuedCert>,
    private readonly signers: Map<string, Signer>,
    private readonly foreign: Signer,
    /**
     * The profile CA's Secret: the one a `ca` ClusterIssuer signs with (direktiv-ca in
     * cert-manager's namespace, as the chart renders it); undefined when the profile has none.
     */
    readonly profileCa: { namespace: string; secretName: string } | undefined,
  ) {}

  /**
   * Issues every Certificate in dependency order: a `ca` issuer signs with the Certificate whose
   * Secret it names (in cert-manager's namespace for ClusterIssuers), so the CA chain
   * (selfSigned -> direktiv-ca Certificate -> direktiv-ca ClusterIssuer) resolves like in a cluster.
   * `label` keeps keys distinct per profile (a local CA per profile).
   */
  static async issue(
    label: string,
    issuers: readonly IssuerSpec[],
    certs: readonly CertSpec[],
    opts: { clusterResourceNamespace?: string } = {},
  ): Promise<LabPki> {
    const crNs = opts.clusterResourceNamespace ?? 'cert-manager';
    const secrets = new Map<string, IssuedCert>();
    const signers = new Map<string, Signer>();
    const issuerOf = (c: CertSpec): IssuerSpec => {
      const i = issuers.find(
        (x) =>
          x.kind === c.issuer.kind &&
          x.name === c.issuer.name &&
          (x.kind === 'ClusterIssuer' || (x.namespace ?? c.namespace) === c.namespace),
      );
      if (!i) {
        throw new Error(
          `Certificate ${c.namespace}/${c.name} refers to ${c.issuer.kind} ${c.issuer.name}, which is not defined`,
        );
      }
      return i;
    };
    const pending = [...certs];
    // Repeated passes: a CA-issued certificate waits until its CA's Secret exists.
    while (pending.length) {
      let progressed = false;
      for (let i = 0; i < pending.length; ) {
        const c = pending[i]!;
        const iss = issuerOf(c);
        let signer: Signer | 'self' | undefined;
        if (iss.type === 'selfSigned') signer = 'self';
        else {
          if (!iss.caSecret) throw new Error(`${iss.kind} ${iss.name} is a CA issuer without caSecret`);
          const caNs = iss.kind === 'ClusterIssuer' ? crNs : (iss.namespace ?? c.namespace);
          signer = signers.get(secretKey(caNs, iss.caSecret));
        }
        if (!signer) {
          i++;
          continue;
        }
        const made = await issue(
          `${label}:${c.namespace}/${c.secretName}`,
          {
            dnsNames: c.dnsNames,
            usages: c.usages,
            ...(c.commonName ? { commonName: c.commonName } : {}),
            isCA: c.isCA,
          },
          signer,
        );
        // cert-manager: a selfSigned issuer's ca.crt is the certificate itself; a CA issuer's is the CA.
        const caPem = signer === 'self' ? made.certPem : signer.certPem;
        const key = secretKey(c.namespace, c.secretName);
        secrets.set(key, {
          spec: c,
          secret: { 'tls.crt': made.certPem, 'tls.key': made.keyPem, 'ca.crt': caPem },
          cert: new NodeX509(made.certPem),
        });
        if (c.isCA) signers.set(key, made.signer);
        pending.splice(i, 1);
        progressed = true;
      }
      if (!progressed) {
        const names = pending.map((c) => `${c.namespace}/${c.name} (issuer ${c.issuer.name})`).join(', ');
        throw new Error(`cannot issue ${names}: their CA Secret is never issued`);
      }
    }
    const foreign = (
      await issue(`foreign-ca`, { dnsNames: [], usages: [], commonName: 'foreign-ca', isCA: true }, 'self')
    ).signer;
    const caIssuer = issuers.find((i) => i.type === 'ca' && i.kind === 'ClusterIssuer' && i.caSecret);
    const profileCa =
      caIssuer?.caSecret && secrets.has(secretKey(crNs, caIssuer.caSecret))
        ? { namespace: crNs, secretName: caIssuer.caSecret }
        : undefined;
    return new LabPki(label, secrets, signers, foreign, profileCa);
  }

  /**
   * A profile's certificates as a cluster's cert-manager issued them (Secrets read from the API,
   * keyed `namespace/name`), so the lab's servers and clients can run on the real chains. Only a
   * foreign CA is made here; planted flaws that need the profile CA's key are not available.
   */
  static async fromSecrets(
    label: string,
    secrets: ReadonlyMap<string, SecretData>,
    profileCa: { namespace: string; secretName: string } | undefined,
  ): Promise<LabPki> {
    const issued = new Map<string, IssuedCert>();
    for (const [key, secret] of secrets)
      issued.set(key, { spec: null, secret, cert: new NodeX509(secret['tls.crt']) });
    const foreign = (
      await issue(`foreign-ca`, { dnsNames: [], usages: [], commonName: 'foreign-ca', isCA: true }, 'self')
    ).signer;
    return new LabPki(label, issued, new Map(), foreign, profileCa);
  }

  /** The Secret cert-manager would have written, or undefined when no Certificate targets it. */
  secret(namespace: string, secretName: string): SecretData | undefined {
    return this.secrets.get(secretKey(namespace, secretName))?.secret;
  }

  issued(namespace: string, secretName: string): IssuedCert | undefined {
    return this.secrets.get(secretKey(namespace, secretName));
  }

  /** Every issued Secret, keyed `namespace/name`. */
  all(): ReadonlyMap<string, IssuedCert> {
    return this.secrets;
  }

  /** The foreign CA's certificate: trusted by nothing in the profile. */
  get foreignCaPem(): string {
    return this.foreign.certPem;
  }

  /**
   * Issues an extra leaf for a planted flaw: signed by the CA behind a Secret (whose ca.crt names
   * the profile CA), by the foreign CA, or self-signed (optionally with the key of an issued
   * Secret, so it verifies against that pinned self-signed certificate like the original does).
   */
  async leaf(
    purpose: string,
    opts: LeafOptions,
    signedBy:
      | { ca: { namespace: string; secretName: string } }
      | { selfWithKeyOf: { namespace: string; secretName: string } }
      | 'foreign'
      | 'self',
  ): Promise<SecretData> {
    let signer: Signer | 'self';
    let keyLabel = `${this.label}:extra:${purpose}`;
    if (signedBy === 'foreign') signer = this.foreign;
    else if (signedBy === 'self') signer = 'self';
    else if ('selfWithKeyOf' in signedBy) {
      const { namespace, secretName } = signedBy.selfWithKeyOf;
      if (!this.secret(namespace, secretName)) {
        throw new Error(`no Secret ${namespace}/${secretName} to take the key of for ${purpose}`);
      }
      signer = 'self';
      keyLabel = `${this.label}:${namespace}/${secretName}`;
    } else {
      const caPem = this.secret(signedBy.ca.namespace, signedBy.ca.secretName)?.['ca.crt'];
      const found = caPem ? [...this.signers.values()].find((s) => s.certPem === caPem) : undefined;
      if (!found) {
        throw new Error(
          `no CA behind Secret ${signedBy.ca.namespace}/${signedBy.ca.secretName} to sign ${purpose} with`,
        );
      }
      signer = found;
    }
    const made = await issue(keyLabel, opts, signer);
    return {
      'tls.crt': made.certPem,
      'tls.key': made.keyPem,
      'ca.crt': signer === 'self' ? made.certPem : signer.certPem,
    };
  }
}

let foreignClient: Promise<SecretData> | undefined;

/**
 * A client certificate (server and client auth) from a throwaway CA nobody trusts, for probes that
 * must show an mTLS server refuses foreign certificates. One per process.
 */
export function foreignClientCertificate(): Promise<SecretData> {
  foreignClient ??= (async () => {
    const ca = (
      await issue(
        'probe-foreign-ca',
        { dnsNames: [], usages: [], commonName: 'foreign-ca', isCA: true },
        'self',
      )
    ).signer;
    const leaf = await issue(
      'probe-foreign-client',
      {
        dnsNames: ['foreign-client.invalid'],
        usages: ['server auth', 'client auth'],
        commonName: 'foreign-client',
      },
      ca,
    );
    return { 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem, 'ca.crt': ca.certPem };
  })();
  return foreignClient;
}

/**
 * Every private key this process generated (PKCS#8 PEM), so a leak check can search reports and
 * logs for them. Never written anywhere by the harness itself.
 */
export async function generatedPrivateKeys(): Promise<string[]> {
  return Promise.all([...keyCache.values()].map(async (k) => keyPem((await k).privateKey)));
}
