// One HTTP(S) request with exact control over headers and TLS: the CA that signs the ingress or
// API certificate and the server name to verify (the host the profile's certificate names),
// while connecting to a loopback address (kind's port mapping or a port-forward).
// node:http(s) rather than fetch: fetch rewrites nothing here, but on Node 20 the only way to
// give it a CA and a server name is an undici Agent from the `undici` package, a dependency
// this needs no more than `https.request({ ca, servername })`.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TlsOptions {
  /** PEM CA bundle to trust (the profile's CA); the system roots are not used. */
  ca: string | Buffer;
  /** Name to verify the certificate against (SNI too), e.g. `direktiv.tls.test`. */
  servername?: string;
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: string | Buffer;
  tls?: TlsOptions;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Header names are lower-case (as Node delivers them). */
  headers: IncomingHttpHeaders;
  body: string;
}

export function sendHttp(req: HttpRequest): Promise<HttpResponse> {
  const isHttps = req.url.protocol === 'https:';
  if (!isHttps && req.tls) {
    return Promise.reject(new Error(`TLS options given for a plain http URL ${req.url.href}: use https://`));
  }
  const body =
    req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (body) headers['Content-Length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const opts = {
      method: req.method,
      headers,
      signal: req.signal,
      timeout: req.timeoutMs ?? 30_000,
      ...(isHttps && req.tls ? { ca: req.tls.ca, servername: req.tls.servername } : {}),
    };
    const r = (isHttps ? httpsRequest : httpRequest)(req.url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`no response within ${opts.timeout} ms`)));
    r.on('error', reject);
    r.end(body);
  });
}
