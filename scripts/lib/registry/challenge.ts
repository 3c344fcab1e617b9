// Parses a `WWW-Authenticate` header (RFC 7235): one or more challenges, each a scheme and
// comma-separated auth-params whose quoted values may hold commas
// (`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/postgres:pull"`).

export interface Challenge {
  /** Lower-cased: `bearer`, `basic`. */
  readonly scheme: string;
  /** Parameter names lower-cased (`realm`, `service`, `scope`, `error`). */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let s = header.trim();
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (s.length > 0) {
    s = s.replace(/^[\s,]+/, '');
    const name = TOKEN.exec(s)?.[0];
    if (!name) break;
    const after = s.slice(name.length);
    const param = /^\s*=\s*/.exec(after);
    if (param && current) {
      // name=value or name="quoted value"
      let rest = after.slice(param[0].length);
      let value: string;
      if (rest.startsWith('"')) {
        let i = 1;
        value = '';
        while (i < rest.length && rest[i] !== '"') {
          if (rest[i] === '\\' && i + 1 < rest.length) i += 1;
          value += rest[i];
          i += 1;
        }
        rest = rest.slice(i + 1);
      } else {
        const m = /^[^,\s]*/.exec(rest)?.[0] ?? '';
        value = m;
        rest = rest.slice(m.length);
      }
      current.params[name.toLowerCase()] = value;
      s = rest;
    } else {
      // A new challenge: `Scheme` optionally followed by params.
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
      s = after;
    }
  }
  return out;
}
