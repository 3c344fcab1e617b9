// The lab's certificate specs per scenario.
//
// TO BE REPLACED: this is a stand-in until scripts/lib/chart reads the rendering of
// charts/direktiv-tls-profile into CertSpec[]; then labCertSpecs() becomes a call to that reader.
// Keep the signature `(scenario) => { issuers; certs }`.
//
// Source: the TLS page (direktiv.github.io docs/config/ssl.md @ 493de14, "Simple example using
// cert-manager"). Corrected mode applies the errata of /work/shared/profiles-and-paths.md (every
// SAN derived from the namespaces; direktiv-cert-flow also in the service namespace with the
// *.<svcNs>.pod SAN; direktiv-cert-knative with *.<svcNs> and a copy in the release namespace).
// As-documented mode reproduces the page's manifests verbatim (namespace `default` and service
// namespace `direktiv-services-direktiv` hard-coded, no copies), except the ingress host, which
// the page itself says to change.
import type { CertSpec, IssuerSpec, KeyUsage, Scenario } from '../../../scenarios/index.ts';

export const SELF_SIGNED_ISSUER = 'selfsigned-issuer';
export const CA_ISSUER = 'direktiv-ca';
export const CERT_MANAGER_NS = 'cert-manager';
export const CONTOUR_INTERNAL_NS = 'contour-internal';

const BOTH: KeyUsage[] = ['server auth', 'client auth'];

function cert(
  name: string,
  namespace: string,
  dnsNames: string[],
  issuer: string,
  usages: KeyUsage[] = [],
  extra: Partial<CertSpec> = {},
): CertSpec {
  return {
    name,
    namespace,
    secretName: name,
    dnsNames,
    usages,
    isCA: false,
    issuer: { kind: 'ClusterIssuer', name: issuer },
    ...extra,
  };
}

/** The page's SANs for a headless gRPC Service plus its namespace wildcards. */
function grpcNames(svc: string, ns: string): string[] {
  return [`${svc}.${ns}.svc.cluster.local`, `${svc}.${ns}`, svc, `*.${ns}.svc.cluster.local`, `*.${ns}`];
}

export function labCertSpecs(scenario: Scenario): { issuers: IssuerSpec[]; certs: CertSpec[] } {
  const f = scenario.features;
  const documented = scenario.mode === 'as-documented';
  // The page hard-codes these; the corrected mode derives them.
  const ns = documented ? 'default' : scenario.namespace;
  const svcNs = documented ? 'direktiv-services-direktiv' : scenario.serviceNamespace;
  const needCa = f.includes('upstream') || f.includes('grpc-tls') || f.includes('services');
  const issuers: IssuerSpec[] = [];
  const certs: CertSpec[] = [];
  if (f.includes('ingress') || needCa) {
    issuers.push({ kind: 'ClusterIssuer', name: SELF_SIGNED_ISSUER, type: 'selfSigned' });
  }
  if (needCa) {
    issuers.push({ kind: 'ClusterIssuer', name: CA_ISSUER, type: 'ca', caSecret: 'direktiv-ca' });
    certs.push(
      cert('direktiv-ca', CERT_MANAGER_NS, [], SELF_SIGNED_ISSUER, [], {
        isCA: true,
        commonName: 'direktiv-system',
      }),
    );
  }
  if (f.includes('ingress')) {
    // The page issues the load-balancer certificate from the self-signed issuer, not the CA.
    certs.push(cert('direktiv-lb', ns, ['localhost', scenario.ingressHost], SELF_SIGNED_ISSUER));
  }
  if (f.includes('upstream')) {
    certs.push(cert('direktiv-cert', ns, [`*.${ns}.svc.cluster.local`, `*.${ns}`], CA_ISSUER));
  }
  if (f.includes('grpc-tls')) {
    certs.push(cert('direktiv-cert-fn', ns, grpcNames('direktiv-functions-hl', ns), CA_ISSUER, BOTH));
    certs.push(cert('direktiv-cert-flow', ns, grpcNames('direktiv-flow-hl', ns), CA_ISSUER, BOTH));
    certs.push(cert('direktiv-cert-ingress', ns, grpcNames('direktiv-ingress-hl', ns), CA_ISSUER, BOTH));
  }
  // direktiv-cert-flow in the service namespace: the sidecars' and init-pods' client certificate
  // for 7777 (erratum 4) and the init-pod server certificate (erratum 5).
  if (documented) {
    // The page creates it only in its "Pod" section, with flow-hl names only.
    if (f.includes('services')) {
      certs.push(
        cert(
          'direktiv-cert-flow',
          svcNs,
          ['direktiv-flow-hl.default.svc.cluster.local', 'direktiv-flow-hl.default', 'direktiv-flow-hl'],
          CA_ISSUER,
          BOTH,
        ),
      );
    }
  } else if (f.includes('grpc-tls') || f.includes('services')) {
    const names = [
      ...(f.includes('grpc-tls')
        ? [`direktiv-flow-hl.${ns}.svc.cluster.local`, `direktiv-flow-hl.${ns}`, 'direktiv-flow-hl']
        : []),
      ...(f.includes('services') ? [`*.${svcNs}.pod`] : []),
    ];
    certs.push(cert('direktiv-cert-flow', svcNs, names, CA_ISSUER, BOTH));
  }
  if (f.includes('services')) {
    certs.push(cert('direktiv-cert-knative', CONTOUR_INTERNAL_NS, [`*.${svcNs}`], CA_ISSUER));
    // Erratum 3: flow.functionsCA names a Secret in the release namespace.
    if (!documented) certs.push(cert('direktiv-cert-knative', ns, [`*.${svcNs}`], CA_ISSUER));
  }
  return { issuers, certs };
}
