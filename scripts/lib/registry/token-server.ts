// The token (auth) server of the local registry. This is NOT an imitation of a registry: the
// registry is CNCF Distribution itself (built from its module, scripts/lib/registry/local-registry.ts),
// configured with `auth: token:`; Distribution only VERIFIES tokens and leaves issuing them to an
// auth server of the operator's choosing (Docker Hub runs auth.docker.io beside its registry). This
// module is that auth server, implementing Distribution's token protocol
// (docs/spec/auth/token.md and jwt.md): `GET /token?service=…&scope=repository:<name>:pull,push`,
// optional Basic credentials, answering `{token, access_token, expires_in, issued_at}` with an
// ES256 JWT whose `x5c` header carries the signing certificate, which the registry checks against
// its `rootcertbundle`.
//
// Policy: anonymous clients may pull every repository (like a public registry); a known user may
// also push. `expired: true` issues tokens whose `exp` is already past (beyond Distribution's 60 s
// leeway) while `expires_in` claims otherwise: the registry must refuse them.
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface TokenServerOptions {
  /** TLS of the token endpoint itself. */
  readonly tls: { cert: string; key: string };
  /** The certificate (PEM) whose key signs tokens, and that key; its CA is the registry's rootcertbundle. */
  readonly signing: { cert: string; key: string };
  readonly issuer: string;
  /** The registry's `service` name: the token's audience. */
  readonly service: string;
  readonly users?: Readonly<Record<string, string>>;
  readonly lifetimeSec?: number;
}

export interface TokenServer {
  readonly realm: string;
  readonly port: number;
  /** Issue tokens that are already expired (the registry must refuse them). */
  expired: boolean;
  /** Tokens issued so far. */
  issued: number;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** `repository:vorteil/api:pull,push` (several scope parameters allowed). */
function parseScopes(scopes: string[]): Access[] {
  const out: Access[] = [];
  for (const s of scopes) {
    const m = /^([a-z]+):(.+):([a-z*,]+)$/.exec(s);
    if (m) out.push({ type: m[1] as string, name: m[2] as string, actions: (m[3] as string).split(',') });
  }
  return out;
}

export async function startTokenServer(o: TokenServerOptions): Promise<TokenServer> {
  const key = createPrivateKey(o.signing.key);
  const x5c = [new X509Certificate(o.signing.cert).raw.toString('base64')];
  const lifetime = o.lifetimeSec ?? 300;
  const state = { expired: false, issued: 0 };

  const server: Server = createServer({ cert: o.tls.cert, key: o.tls.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://token');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    let account: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [user, pass] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      if (!user || o.users?.[user] === undefined || o.users[user] !== pass) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      account = user;
    }
    if (url.searchParams.get('service') !== o.service) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNSUPPORTED', message: `unknown service` }] }));
      return;
    }
    const granted = parseScopes(url.searchParams.getAll('scope')).map((a) => ({
      ...a,
      actions: a.actions.filter((x) => x === 'pull' || (account !== undefined && x === 'push')),
    }));
    const now = Math.floor(Date.now() / 1000);
    // Expired: two minutes past, so Distribution's 60 s leeway does not save it.
    const exp = state.expired ? now - 120 : now + lifetime;
    const header = { alg: 'ES256', typ: 'JWT', x5c };
    const claims = {
      iss: o.issuer,
      sub: account ?? '',
      aud: o.service,
      exp,
      nbf: state.expired ? now - 600 : now - 10,
      iat: state.expired ? now - 600 : now,
      jti: randomUUID(),
      access: granted,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(signature)}`;
    state.issued += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: lifetime,
        issued_at: new Date(now * 1000).toISOString(),
      }),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `https://localhost:${port}/token`,
    port,
    get expired() {
      return state.expired;
    },
    set expired(v: boolean) {
      state.expired = v;
    },
    get issued() {
      return state.issued;
    },
    set issued(v: number) {
      state.issued = v;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
