// Keeps private key material out of everything the harness writes (diagnostics, logs, reports):
// Secret values, last-applied annotations (which embed them), PEM private key blocks and
// base64-encoded PEM private keys anywhere in text.
import type { KubeObject } from './types.ts';

const PEM_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
// base64 of "-----BEGIN " starts every base64-encoded PEM block.
const B64_PEM = /LS0tLS1CRUdJTi[A-Za-z0-9+/=]{40,}/g;

export const REDACTED_KEY = '<redacted private key>';

function hidesPrivateKey(b64: string): boolean {
  try {
    return /PRIVATE KEY/.test(Buffer.from(b64, 'base64').toString('latin1'));
  } catch {
    return false;
  }
}

export function redactText(text: string): string {
  return text.replace(PEM_KEY, REDACTED_KEY).replace(B64_PEM, (m) => (hidesPrivateKey(m) ? REDACTED_KEY : m));
}

function redactDeep(v: unknown): unknown {
  if (typeof v === 'string') return redactText(v);
  if (Array.isArray(v)) return v.map(redactDeep);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, c] of Object.entries(v)) out[k] = redactDeep(c);
    return out;
  }
  return v;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * A copy safe to write to disk: Secret `data`/`stringData` values replaced by their size,
 * last-applied annotations of Secrets dropped, managedFields dropped (noise), and any private
 * key found in any string replaced.
 */
export function redactObject(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj) as KubeObject;
  const { managedFields: _mf, ...metadata } = copy.metadata;
  copy.metadata = metadata;
  if (copy.kind === 'Secret' && copy.apiVersion === 'v1') {
    for (const field of ['data', 'stringData'] as const) {
      const values = copy[field] as Record<string, string> | undefined;
      if (!values) continue;
      const sizes: Record<string, string> = {};
      for (const [k, v] of Object.entries(values)) {
        const bytes =
          field === 'data' ? Buffer.from(String(v), 'base64').length : Buffer.byteLength(String(v));
        sizes[k] = `<redacted: ${bytes} bytes>`;
      }
      copy[field] = sizes;
    }
    if (copy.metadata.annotations?.[LAST_APPLIED]) {
      copy.metadata.annotations = { ...copy.metadata.annotations, [LAST_APPLIED]: '<redacted>' };
    }
  }
  return redactDeep(copy) as KubeObject;
}
