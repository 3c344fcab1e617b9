// The API as a user reaches it: through the contour-external Envoy on the host port the driver gives,
// over HTTPS with the ingress certificate's CA when the profile has ingress TLS.
import type { Scenario } from '../../../scenarios/index.ts';
import { DirektivApi } from '../direktiv-api/client.ts';
import { sendHttp } from '../direktiv-api/http.ts';
import type { KubeClient } from '../k8s/client.ts';
import type { RunContext } from './context.ts';

export async function secretKey(
  client: KubeClient,
  s: { namespace: string; name: string },
  key: string,
): Promise<string | undefined> {
  const obj = await client.getOrNull({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: s.namespace,
    name: s.name,
  });
  const b64 = (obj?.data as Record<string, string> | undefined)?.[key];
  return b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
}

interface IngressEndpoint {
  baseUrl: string;
  tls?: { ca: string; servername: string };
  host: string;
}

async function ingressEndpoint(ctx: RunContext, client: KubeClient, sc: Scenario): Promise<IngressEndpoint> {
  const tls = sc.features.includes('ingress');
  // Only the public ca.crt is read here (the self-signed ingress certificate is its own anchor).
  const ca = tls
    ? await secretKey(client, { namespace: sc.namespace, name: 'direktiv-lb' }, 'ca.crt')
    : undefined;
  if (tls && !ca)
    throw new Error(
      `Secret ${sc.namespace}/direktiv-lb has no ca.crt: the ingress certificate was not issued`,
    );
  const on = ctx.driver.ingress(ctx);
  return {
    baseUrl: tls ? `https://${on.address}:${on.httpsPort}` : `http://${on.address}:${on.httpPort}`,
    ...(ca ? { tls: { ca, servername: sc.ingressHost } } : {}),
    host: sc.ingressHost,
  };
}

export async function ingressApi(
  ctx: RunContext,
  client: KubeClient,
  sc: Scenario,
  opts: { onRetry?: (l: string) => void; signal?: AbortSignal; unavailableRetryMs?: number } = {},
): Promise<DirektivApi> {
  return new DirektivApi({ ...(await ingressEndpoint(ctx, client, sc)), ...opts });
}

/** One GET through the ingress as a browser makes it (the UI is not part of the API). */
export async function ingressGet(
  ctx: RunContext,
  client: KubeClient,
  sc: Scenario,
  path: string,
): Promise<number> {
  const e = await ingressEndpoint(ctx, client, sc);
  const res = await sendHttp({
    method: 'GET',
    url: new URL(path, e.baseUrl),
    headers: { Host: e.host },
    ...(e.tls ? { tls: e.tls } : {}),
    timeoutMs: 30_000,
  });
  return res.status;
}
