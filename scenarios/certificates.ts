// The shape of a certificate the profile chart renders (cert-manager Certificate), as the lab,
// the probes and the consistency checks read it. charts/direktiv-tls-profile is the source of the
// objects; scripts/lib/chart reads its rendering into this shape.

export type KeyUsage = 'server auth' | 'client auth' | 'digital signature' | 'key encipherment' | 'cert sign';

export interface CertSpec {
  /** Certificate object name. */
  name: string;
  namespace: string;
  secretName: string;
  dnsNames: string[];
  commonName?: string;
  /** Empty means cert-manager's default usages (digital signature, key encipherment; no EKU). */
  usages: KeyUsage[];
  isCA: boolean;
  issuer: { kind: 'ClusterIssuer' | 'Issuer'; name: string };
}

export interface IssuerSpec {
  kind: 'ClusterIssuer' | 'Issuer';
  name: string;
  namespace?: string;
  /** selfSigned issuers sign their own certificates; ca issuers sign with `caSecret`. */
  type: 'selfSigned' | 'ca';
  caSecret?: string;
}
