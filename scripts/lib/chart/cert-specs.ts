// Reads the profile chart's rendering into the shapes of scenarios/certificates.ts: the lab
// issues its certificates from these, so the chart stays the one source of certificates.
import type { CertSpec, IssuerSpec, KeyUsage } from '../../../scenarios/certificates.ts';
import { type K8sObject, objectRef } from './render.ts';

const KEY_USAGES: readonly KeyUsage[] = [
  'server auth',
  'client auth',
  'digital signature',
  'key encipherment',
  'cert sign',
];

const isCertManager = (o: K8sObject) => o.apiVersion === 'cert-manager.io/v1';

export function readCertSpecs(objects: readonly K8sObject[]): { issuers: IssuerSpec[]; certs: CertSpec[] } {
  const issuers: IssuerSpec[] = [];
  const certs: CertSpec[] = [];
  for (const o of objects) {
    if (!isCertManager(o)) continue;
    if (o.kind === 'ClusterIssuer' || o.kind === 'Issuer') {
      const spec = o.spec ?? {};
      let issuer: IssuerSpec;
      if (spec.selfSigned) issuer = { kind: o.kind, name: o.metadata.name, type: 'selfSigned' };
      else if (spec.ca?.secretName)
        issuer = { kind: o.kind, name: o.metadata.name, type: 'ca', caSecret: String(spec.ca.secretName) };
      else throw new Error(`${objectRef(o)}: only selfSigned and ca issuers are supported`);
      if (o.kind === 'Issuer') issuer.namespace = o.metadata.namespace ?? '';
      issuers.push(issuer);
    } else if (o.kind === 'Certificate') {
      const spec = o.spec ?? {};
      const usages = (spec.usages ?? []) as string[];
      const unknown = usages.filter((u) => !(KEY_USAGES as readonly string[]).includes(u));
      if (unknown.length) throw new Error(`${objectRef(o)}: usages not modelled: ${unknown.join(', ')}`);
      const kind = spec.issuerRef?.kind ?? 'Issuer';
      if (kind !== 'ClusterIssuer' && kind !== 'Issuer') {
        throw new Error(`${objectRef(o)}: issuerRef kind ${kind} is not a cert-manager issuer`);
      }
      const cert: CertSpec = {
        name: o.metadata.name,
        namespace: o.metadata.namespace ?? '',
        secretName: String(spec.secretName),
        dnsNames: [...((spec.dnsNames ?? []) as string[])],
        usages: usages as KeyUsage[],
        isCA: spec.isCA === true,
        issuer: { kind, name: String(spec.issuerRef?.name) },
      };
      if (spec.commonName) cert.commonName = String(spec.commonName);
      certs.push(cert);
    }
  }
  return { issuers, certs };
}
