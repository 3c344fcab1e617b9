// A registry API v2 client for one question: does this manifest exist, and what digest does it
// resolve to? `HEAD /v2/<name>/manifests/<ref>` with the Accept types of Docker v2 and OCI
// manifests and indexes, answering the `WWW-Authenticate: Bearer realm=…,service=…,scope=…`
// challenge (Docker Hub, ghcr.io, gcr.io, quay.io) with a token from the realm, or Basic when the
// registry asks for it. Errors are classified so the preflight can say what is wrong in words:
// a missing tag, a missing repository, access denied, an unreachable or untrusted registry.
//
// Written here rather than taken from npm: @snyk/docker-registry-v2-client (the maintained one)
// only GETs manifests (no HEAD, so no digest without the body), retries with back-off on its own,
// and folds connection, TLS and HTTP failures into one exception; docker-registry-client and
// oci-registry-client are unmaintained. undici (Node's own HTTP client) gives HEAD, per-registry
// trust roots (a test CA) and timeouts.
import { createHash } from 'node:crypto';
import { Agent, type Dispatcher, request } from 'undici';
import { type Challenge, parseChallenges } from './challenge.ts';
import { displayName, type RegistryRef, registryRef } from './reference.ts';

/** Docker v2 + OCI manifests and indexes; a registry picks the one the image has. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export type ManifestStatus =
  | 'present'
  | 'missing-tag'
  | 'missing-repository'
  | 'missing'
  | 'denied'
  | 'unreachable'
  | 'untrusted'
  | 'error';

export interface ManifestResult {
  readonly ref: RegistryRef;
  readonly status: ManifestStatus;
  /** `Docker-Content-Digest` (or the sha256 of the manifest when a registry omits it). */
  readonly digest?: string;
  readonly mediaType?: string;
  /** Bytes of the manifest itself. */
  readonly size?: number;
  readonly httpStatus?: number;
  /** What happened, in words (the registry's own error text where it gave one). */
  readonly detail: string;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface RegistryClientOptions {
  /** Trust roots (PEM) instead of Node's: the registry's CA in tests or a private registry. */
  readonly ca?: string;
  /** Hosts spoken to over plain http (a local registry without TLS). */
  readonly plainHttp?: readonly string[];
  readonly credentials?: (registry: string) => Credentials | undefined;
  readonly timeoutMs?: number;
  /** The clock for token expiry (tests). */
  readonly now?: () => number;
}

interface CachedToken {
  readonly token: string;
  /** ms since epoch after which the token is not used again. */
  readonly expiresAt: number;
}

/** Raised for failures below HTTP: no connection, a TLS certificate not trusted, a timeout. */
class TransportError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'untrusted',
    message: string,
  ) {
    super(message);
  }
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

function transportError(e: unknown, url: string): TransportError {
  const err = e as Error & { code?: string; cause?: Error & { code?: string } };
  const code = err.code ?? err.cause?.code ?? '';
  const host = new URL(url).host;
  if (TLS_CODES.has(code)) {
    return new TransportError('untrusted', `TLS: the certificate of ${host} is not trusted (${code})`);
  }
  const what =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host name does not resolve'
        : code.startsWith('UND_ERR_') && code.includes('TIMEOUT')
          ? 'timed out'
          : err.message || code || 'no connection';
  return new TransportError(
    'unreachable',
    `${host}: ${what}${code && !what.includes(code) ? ` (${code})` : ''}`,
  );
}

export class RegistryClient {
  private readonly dispatcher: Dispatcher;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly o: RegistryClientOptions = {}) {
    this.timeoutMs = o.timeoutMs ?? 15_000;
    this.now = o.now ?? Date.now;
    this.dispatcher = new Agent({
      connect: { timeout: this.timeoutMs, ...(o.ca ? { ca: o.ca } : {}) },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** How many tokens were fetched from realms (tests: a cached token is reused, an old one renewed). */
  tokenFetches = 0;

  private base(r: RegistryRef): string {
    const scheme = this.o.plainHttp?.includes(r.apiHost) ? 'http' : 'https';
    return `${scheme}://${r.apiHost}/v2/${r.repository}`;
  }

  /** Does the manifest exist, and what digest does it resolve to? Never throws for registry answers. */
  async checkManifest(refOrString: RegistryRef | string): Promise<ManifestResult> {
    const ref = typeof refOrString === 'string' ? registryRef(refOrString) : refOrString;
    const url = `${this.base(ref)}/manifests/${ref.reference}`;
    try {
      const res = await this.call(ref, url, 'HEAD');
      await res.body.dump();
      if (res.statusCode === 200) return await this.present(ref, url, res.headers);
      if (res.statusCode === 404) return await this.whichIsMissing(ref);
      return await this.failure(ref, url, res);
    } catch (e) {
      if (e instanceof TransportError) return { ref, status: e.kind, detail: e.message };
      throw e;
    }
  }

  /**
   * The manifest for one platform (an index is resolved to its `os/arch` entry) and the sum of its
   * config and layer sizes as stored (compressed): what a pull downloads.
   */
  async imageSize(
    refOrString: RegistryRef | string,
    platform = 'linux/amd64',
  ): Promise<{ digest: string; bytes: number; layers: number }> {
    const ref = typeof refOrString === 'string' ? registryRef(refOrString) : refOrString;
    let reference = ref.reference;
    for (let hop = 0; hop < 2; hop++) {
      const url = `${this.base(ref)}/manifests/${reference}`;
      const res = await this.call(ref, url, 'GET');
      const body = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode !== 200)
        throw new Error(`GET ${url}: HTTP ${res.statusCode}${registryError(body.toString('utf8'))}`);
      const m = JSON.parse(body.toString('utf8')) as {
        manifests?: { digest: string; platform?: { os: string; architecture: string } }[];
        config?: { size: number };
        layers?: { size: number }[];
      };
      if (m.manifests) {
        const [os, arch] = platform.split('/');
        const entry = m.manifests.find((x) => x.platform?.os === os && x.platform?.architecture === arch);
        if (!entry) throw new Error(`${displayName(ref)} has no ${platform} image`);
        reference = entry.digest;
        continue;
      }
      const digest = header(res.headers, 'docker-content-digest') ?? sha256(body);
      const bytes = (m.config?.size ?? 0) + (m.layers ?? []).reduce((n, l) => n + l.size, 0);
      return { digest, bytes, layers: m.layers?.length ?? 0 };
    }
    throw new Error(`${displayName(ref)}: an index inside an index`);
  }

  private async present(
    ref: RegistryRef,
    url: string,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<ManifestResult> {
    let digest = header(headers, 'docker-content-digest');
    const mediaType = header(headers, 'content-type');
    let size = Number(header(headers, 'content-length')) || undefined;
    if (!digest) {
      // Some registries omit the header on HEAD: the digest is the sha256 of the manifest bytes.
      const res = await this.call(ref, url, 'GET');
      const body = Buffer.from(await res.body.arrayBuffer());
      digest = sha256(body);
      size = body.length;
    }
    if (ref.digest && digest !== ref.digest) {
      return {
        ref,
        status: 'error',
        digest,
        httpStatus: 200,
        detail: `asked for ${ref.digest}, the registry answered ${digest}`,
      };
    }
    return {
      ref,
      status: 'present',
      digest,
      ...(mediaType ? { mediaType } : {}),
      ...(size ? { size } : {}),
      httpStatus: 200,
      detail: 'manifest present',
    };
  }

  /** A 404: ask the tag list whether the repository exists, to name what is missing. */
  private async whichIsMissing(ref: RegistryRef): Promise<ManifestResult> {
    const what = ref.digest ? `digest ${ref.digest}` : `tag ${ref.reference}`;
    const res = await this.call(ref, `${this.base(ref)}/tags/list`, 'GET');
    const text = await res.body.text();
    if (res.statusCode === 404) {
      return {
        ref,
        status: 'missing-repository',
        httpStatus: 404,
        detail: `repository ${ref.repository} does not exist on ${ref.registry}${registryError(text)}`,
      };
    }
    if (res.statusCode === 200) {
      const tags = (JSON.parse(text) as { tags?: string[] | null }).tags ?? [];
      return {
        ref,
        status: 'missing-tag',
        httpStatus: 404,
        detail: `${what} is not in ${ref.registry}/${ref.repository} (it has ${tags.length} tag${tags.length === 1 ? '' : 's'}${tags.length ? `: ${tags.slice(0, 5).join(', ')}${tags.length > 5 ? ', …' : ''}` : ''})`,
      };
    }
    return { ref, status: 'missing', httpStatus: 404, detail: `${what} not found in ${displayName(ref)}` };
  }

  private async failure(
    ref: RegistryRef,
    url: string,
    res: Dispatcher.ResponseData,
  ): Promise<ManifestResult> {
    const status = res.statusCode;
    // HEAD has no body: the registry's reason is in the GET.
    const again = await this.call(ref, url, 'GET');
    const reason = registryError(await again.body.text());
    const challenge = header(res.headers, 'www-authenticate');
    const tokenError = challenge ? parseChallenges(challenge)[0]?.params.error : undefined;
    if (status === 401 || status === 403) {
      return {
        ref,
        status: 'denied',
        httpStatus: status,
        detail: `access denied (HTTP ${status}${tokenError ? `, ${tokenError}` : ''})${reason}${
          ref.registry === 'docker.io' ? '; Docker Hub answers so for a repository that does not exist' : ''
        }`,
      };
    }
    const rate = status === 429 ? ' (rate-limited)' : '';
    return { ref, status: 'error', httpStatus: status, detail: `HTTP ${status}${rate}${reason}` };
  }

  /** One request, answering one auth challenge; the response of the retry is returned as is. */
  private async call(
    ref: RegistryRef,
    url: string,
    method: 'HEAD' | 'GET',
  ): Promise<Dispatcher.ResponseData> {
    const scope = `repository:${ref.repository}:pull`;
    const cacheKey = `${ref.apiHost} ${scope}`;
    const cached = this.tokens.get(cacheKey);
    const auth = cached && cached.expiresAt > this.now() ? `Bearer ${cached.token}` : undefined;
    const first = await this.send(url, method, auth);
    if (first.statusCode !== 401) return first;
    const header401 = header(first.headers, 'www-authenticate');
    const challenges = header401 ? parseChallenges(header401) : [];
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    const creds = this.o.credentials?.(ref.registry);
    let retryAuth: string | undefined;
    if (bearer?.params.realm) {
      const token = await this.fetchToken(bearer, scope, creds);
      this.tokens.set(cacheKey, token);
      retryAuth = `Bearer ${token.token}`;
    } else if (basic && creds) {
      retryAuth = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    } else {
      return first;
    }
    await first.body.dump();
    return this.send(url, method, retryAuth);
  }

  private async send(url: string, method: 'HEAD' | 'GET', authorization?: string) {
    try {
      return await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          accept: MANIFEST_ACCEPT,
          'user-agent': 'direktiv-tls-e2e-preflight',
          ...(authorization ? { authorization } : {}),
        },
      });
    } catch (e) {
      throw transportError(e, url);
    }
  }

  /** The token endpoint of the challenge (`realm?service=…&scope=…`), anonymous unless credentials. */
  private async fetchToken(c: Challenge, scope: string, creds?: Credentials): Promise<CachedToken> {
    const u = new URL(c.params.realm as string);
    if (c.params.service) u.searchParams.set('service', c.params.service);
    // The challenge's own scope is what the registry wants; ours covers registries that omit it.
    u.searchParams.set('scope', c.params.scope || scope);
    this.tokenFetches += 1;
    const started = this.now();
    let res: Dispatcher.ResponseData;
    try {
      res = await request(u, {
        method: 'GET',
        dispatcher: this.dispatcher,
        headers: {
          'user-agent': 'direktiv-tls-e2e-preflight',
          ...(creds
            ? {
                authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`,
              }
            : {}),
        },
      });
    } catch (e) {
      throw transportError(e, u.toString());
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new TransportError(
        'unreachable',
        `token server ${u.host} answered HTTP ${res.statusCode}${registryError(text)}`,
      );
    }
    const t = JSON.parse(text) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
      issued_at?: string;
    };
    const token = t.token ?? t.access_token;
    if (!token) throw new TransportError('unreachable', `token server ${u.host} gave no token`);
    const issued = t.issued_at ? Date.parse(t.issued_at) : Number.NaN;
    // The spec's default lifetime is 60 s; renew 5 s early so a token never expires in flight.
    const expiresAt = (Number.isFinite(issued) ? issued : started) + (t.expires_in ?? 60) * 1000 - 5000;
    return { token, expiresAt };
  }
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** The first error of a registry error body (`{"errors":[{"code":…,"message":…}]}`), as `: CODE message`. */
function registryError(text: string): string {
  try {
    const e = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    return e ? `: ${[e.code, e.message].filter(Boolean).join(' ')}` : '';
  } catch {
    return '';
  }
}
