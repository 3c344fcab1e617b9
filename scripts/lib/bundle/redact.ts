// A bundle is attached to issues and CI artifacts: it must never carry a private key, whatever
// the data passed in (a plan step could quote a Secret). Keys are cut out and counted.

const PEM_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
// `tls.key: <base64>` in a Secret's data (YAML or JSON), and `key.pem`-style fields.
const DATA_KEY =
  /(["']?(?:tls\.key|ca\.key|[A-Za-z0-9_.-]*private[-_]?key)["']?\s*[:=]\s*["']?)([A-Za-z0-9+/=\\]{16,})/gi;

export const REDACTED = '[private key removed by the reproduction bundle]';

export function redactSecrets(text: string): { text: string; removed: number } {
  let removed = 0;
  const out = text
    .replace(PEM_KEY, () => {
      removed++;
      return REDACTED;
    })
    .replace(DATA_KEY, (_m, head: string) => {
      removed++;
      return `${head}${REDACTED}`;
    });
  return { text: out, removed };
}

/** True when the text still holds something that looks like a private key. */
export function holdsPrivateKey(text: string): boolean {
  return /PRIVATE KEY-----/.test(text) || /tls\.key["']?\s*:\s*["']?[A-Za-z0-9+/]{16,}/.test(text);
}
