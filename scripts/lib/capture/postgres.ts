// Postgres wire protocol recognition (protocol 3.0). The first client message has no type byte:
// length + code. SSLRequest / GSSENCRequest are answered with ONE byte: 'S' (TLS follows), 'G'
// (GSSAPI encryption follows) or 'N' (refused: the client then sends its StartupMessage in clear,
// which with sslmode=prefer or disable is exactly the plaintext case this harness must catch).

export const PG_SSL_REQUEST = 80877103;
export const PG_GSSENC_REQUEST = 80877104;
export const PG_CANCEL_REQUEST = 80877102;
export const PG_PROTOCOL_3 = 196608;

export type PgFirst =
  | { kind: 'ssl-request' | 'gssenc-request'; length: 8 }
  | { kind: 'cancel'; length: 16 }
  | { kind: 'startup'; length: number; params: Record<string, string> };

/** The client's first message at `at`, if it is one. */
export function pgFirstMessage(b: Buffer, at = 0): PgFirst | null {
  if (at + 8 > b.length) return null;
  const len = b.readUInt32BE(at);
  const code = b.readUInt32BE(at + 4);
  if (len === 8 && code === PG_SSL_REQUEST) return { kind: 'ssl-request', length: 8 };
  if (len === 8 && code === PG_GSSENC_REQUEST) return { kind: 'gssenc-request', length: 8 };
  if (len === 16 && code === PG_CANCEL_REQUEST) return { kind: 'cancel', length: 16 };
  if (code !== PG_PROTOCOL_3 || len < 9 || len > 10000) return null;
  // key\0value\0 ... \0 : check it is really that shape (the bytes we have of it).
  const end = Math.min(b.length, at + len);
  const parts = b.toString('latin1', at + 8, end).split('\0');
  const params: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const k = parts[i]!;
    if (k === '') break;
    if (!/^[\x20-\x7e]+$/.test(k)) return null;
    params[k] = parts[i + 1]!;
  }
  if (!('user' in params) && at + len <= b.length) return null; // "user" is required
  return { kind: 'startup', length: len, params };
}

const CLIENT_TYPES = new Set('QPBEDSXCHFfdcp'.split('').map((c) => c.charCodeAt(0)));
const SERVER_TYPES = new Set('RSKZTDCEINnstGHWVdc123A'.split('').map((c) => c.charCodeAt(0)));

/**
 * For a stream whose start was not captured: `min` consecutive typed messages (type byte + length)
 * from `at`, or typed messages running exactly to the end of the data.
 */
export function pgMessageChain(b: Buffer, at: number, side: 'client' | 'server', min = 3): boolean {
  const types = side === 'client' ? CLIENT_TYPES : SERVER_TYPES;
  let n = 0;
  let p = at;
  while (p + 5 <= b.length) {
    if (!types.has(b[p]!)) break;
    const len = b.readUInt32BE(p + 1);
    if (len < 4 || len > 1 << 24) break;
    const next = p + 1 + len;
    if (next > b.length) return n >= 2;
    n++;
    p = next;
    if (n >= min) return true;
  }
  return n >= 2 && p === b.length;
}
