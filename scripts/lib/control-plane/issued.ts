// Checks what cert-manager really issued against what Direktiv's chart mounts: for every Secret
// mount of the chart model, the Secret exists in the mount's namespace with the keys the
// component reads, a server certificate carries the names its clients dial, the certificate
// chains to the Secret's ca.crt, and its extended key usages allow the use. Reads only public
// parts: a private key is checked for presence, never printed.
import { X509Certificate } from 'node:crypto';
import type { SecretMount } from '../../../scenarios/direktiv-chart-model.ts';
import { sanMatches } from '../chart/consistency.ts';
import type { KubeClient } from '../k8s/client.ts';

export type IssuedCheck = 'missing-secret' | 'missing-key' | 'san' | 'trust' | 'usage';

export interface IssuedProblem {
  readonly check: IssuedCheck;
  readonly mount: SecretMount;
  /** One line: the Secret, the component that mounts it and what is wrong. */
  readonly message: string;
}

const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

const decode = (data: Record<string, string> | undefined, key: string): string =>
  data?.[key] ? Buffer.from(data[key]!, 'base64').toString('utf8') : '';

export async function checkIssuedSecrets(
  client: KubeClient,
  mounts: readonly SecretMount[],
): Promise<IssuedProblem[]> {
  const out: IssuedProblem[] = [];
  for (const m of mounts) {
    const where = `Secret ${m.namespace}/${m.secretName} (${m.component}, ${m.value}${m.path ? `, path ${m.path}` : ''})`;
    const add = (check: IssuedCheck, why: string) =>
      out.push({ check, mount: m, message: `${where}: ${why}` });
    const secret = await client.getOrNull({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: m.namespace,
      name: m.secretName,
    });
    if (!secret) {
      add('missing-secret', 'not found in the namespace where it is mounted');
      continue;
    }
    const data = secret.data as Record<string, string> | undefined;
    const need = [...(m.reads.keyPair ? ['tls.crt', 'tls.key'] : []), ...(m.reads.caCrt ? ['ca.crt'] : [])];
    const missing = need.filter((k) => !data?.[k]);
    if (missing.length) add('missing-key', `has no ${missing.join(', ')}`);
    const crt = decode(data, 'tls.crt');
    const ca = decode(data, 'ca.crt');
    if (!crt) continue;
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(crt);
    } catch (e) {
      add('trust', `tls.crt does not parse: ${(e as Error).message}`);
      continue;
    }
    if (m.role === 'server') {
      // Go's matching (the clients are Go programs): Node's checkHost refuses `*.<single label>`,
      // which Go accepts for a Knative host such as `svc.<namespace>`.
      const sans = (leaf.subjectAltName ?? '')
        .split(', ')
        .filter((e) => e.startsWith('DNS:'))
        .map((e) => e.slice(4));
      const uncovered = m.dialNames.filter((n) => !sans.some((p) => sanMatches(p, n)));
      if (uncovered.length) {
        add(
          'san',
          `the certificate lacks ${uncovered.join(', ')} (its SANs: ${leaf.subjectAltName ?? 'none'})`,
        );
      }
    }
    // cert-manager writes the issuing CA as ca.crt; for a self-signed certificate, the certificate
    // itself (a verifier trusts it as its own root, whatever its key usages say).
    if (ca) {
      const caCert = new X509Certificate(ca);
      const selfSigned = caCert.fingerprint256 === leaf.fingerprint256;
      if (!selfSigned && (!leaf.checkIssued(caCert) || !leaf.verify(caCert.publicKey))) {
        add(
          'trust',
          `tls.crt is not signed by the ca.crt beside it (issuer ${(leaf.issuer || '(empty)').replace(/\n/g, ', ')})`,
        );
      }
    }
    const ekus = leaf.keyUsage ?? [];
    if (ekus.length) {
      if (m.needs.serverAuth && !ekus.includes(EKU.serverAuth))
        add('usage', 'no serverAuth extended key usage');
      if (m.needs.clientAuth && !ekus.includes(EKU.clientAuth))
        add('usage', 'no clientAuth extended key usage');
    }
  }
  return out;
}
