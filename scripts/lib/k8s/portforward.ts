// Port-forward to a pod (or the pod behind a Service) on a local loopback port, over the API
// server's websocket port-forward endpoint, with client-node's PortForward speaking the channel
// protocol. Our own socket handler replaces client-node's so that a refused upgrade reports the
// API server's Status (who refused and why) instead of "Unexpected server response: 403".
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { type KubeConfig, PortForward } from '@kubernetes/client-node';
import WebSocket from 'ws';
import type { KubeClient } from './client.ts';
import { type KubeStatus, parseStatus } from './errors.ts';
import type { KubeObject } from './types.ts';

/** The subprotocols client-node offers; the API server picks v4.channel.k8s.io for port-forward. */
const PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
];

export class PortForwardRefusedError extends Error {
  readonly namespace: string;
  readonly pod: string;
  readonly port: number;
  readonly code: number | undefined;
  readonly status: KubeStatus | undefined;
  constructor(opts: {
    namespace: string;
    pod: string;
    port: number;
    code?: number;
    status?: KubeStatus;
    body?: string;
    cause?: unknown;
  }) {
    const what = opts.code
      ? `HTTP ${opts.code}${opts.status?.reason ? ` ${opts.status.reason}` : ''}: ${opts.status?.message ?? (opts.body?.trim() || 'no body')}`
      : ((opts.cause as Error | undefined)?.message ?? 'connection failed');
    const hint =
      opts.code === 403
        ? 'The kubeconfig user may not create pods/portforward (RBAC).'
        : opts.code === 404
          ? 'The pod does not exist (any more): resolve the pod again from its Service.'
          : opts.code === 400
            ? 'The pod is not running or the port is not valid for it.'
            : opts.code === 401
              ? 'The kubeconfig credentials were rejected.'
              : 'Check that the API server and the node are reachable.';
    super(
      `port-forward to pod ${opts.namespace}/${opts.pod} port ${opts.port} refused: ${what}. ${hint}`,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.name = 'PortForwardRefusedError';
    this.namespace = opts.namespace;
    this.pod = opts.pod;
    this.port = opts.port;
    this.code = opts.code;
    this.status = opts.status;
  }
}

class HandshakeRefused extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`websocket upgrade refused with HTTP ${code}`);
  }
}

/** Implements client-node's WebSocketInterface with `ws`, keeping the refusal's Status body. */
class StatusAwareSocketHandler {
  constructor(
    private readonly kc: KubeConfig,
    private readonly onClose?: () => void,
  ) {}

  async connect(
    path: string,
    textHandler: ((text: string) => boolean) | null,
    binaryHandler: ((stream: number, buff: Buffer) => boolean) | null,
  ): Promise<WebSocket> {
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig has no current cluster');
    const uri = server.replace(/^https:/, 'wss:').replace(/^http:/, 'ws:') + path;
    const opts: WebSocket.ClientOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(uri, PROTOCOLS, opts);
      let opened = false;
      ws.on('unexpected-response', (req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          reject(new HandshakeRefused(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
          req.destroy();
        });
        res.on('error', (e) => reject(e));
      });
      ws.on('open', () => {
        opened = true;
        resolve(ws);
      });
      ws.on('error', (e) => {
        if (!opened) reject(e);
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) {
          if (textHandler && !textHandler(data.toString('utf8'))) ws.close();
          return;
        }
        if (binaryHandler && !binaryHandler(data[0] ?? 0, data.subarray(1))) ws.close();
      });
      ws.on('close', () => this.onClose?.());
    });
  }
}

export interface PortForwardHandle {
  namespace: string;
  pod: string;
  remotePort: number;
  /** The local port on 127.0.0.1. */
  localPort: number;
  /** Errors reported on the port-forward error channel or by failed connections. */
  errors: string[];
  close(): Promise<void>;
}

export interface PortForwardOptions {
  namespace: string;
  /** The pod to forward to; or give `service` to pick a ready pod behind it. */
  pod?: string;
  service?: string;
  /** The pod's port, or the Service's port when `service` is given. */
  port: number;
  /** Local port; default 0 (any free port). */
  localPort?: number;
  /** Open one connection up front so a refusal fails here, not at first use (default true). */
  verify?: boolean;
}

/** The ready pod behind a Service and the container port its service port targets. */
export async function resolveServiceTarget(
  client: KubeClient,
  namespace: string,
  service: string,
  servicePort: number,
): Promise<{ pod: string; port: number }> {
  const svc = await client.get({ apiVersion: 'v1', kind: 'Service', namespace, name: service });
  const spec = (svc.spec ?? {}) as {
    selector?: Record<string, string>;
    ports?: { name?: string; port: number; targetPort?: number | string }[];
  };
  const sp = (spec.ports ?? []).find((p) => p.port === servicePort);
  if (!sp) {
    throw new Error(
      `Service ${namespace}/${service} has no port ${servicePort} (ports: ${(spec.ports ?? []).map((p) => p.port).join(', ') || 'none'})`,
    );
  }
  const selector = Object.entries(spec.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (!selector)
    throw new Error(`Service ${namespace}/${service} has no selector: there is no pod to forward to`);
  const pods = await client.list('v1', 'Pod', { namespace, labelSelector: selector });
  const isReady = (p: KubeObject) => {
    const st = p.status as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
    return (
      st?.phase === 'Running' && (st.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
    );
  };
  const pod =
    pods.find(isReady) ?? pods.find((p) => (p.status as { phase?: string } | undefined)?.phase === 'Running');
  if (!pod) {
    throw new Error(
      `no running pod behind Service ${namespace}/${service} (selector ${selector}; ${pods.length} pods match, none Running)`,
    );
  }
  let port: number;
  if (typeof sp.targetPort === 'number') port = sp.targetPort;
  else if (typeof sp.targetPort === 'string') {
    const containers =
      (pod.spec as { containers?: { ports?: { name?: string; containerPort: number }[] }[] }).containers ??
      [];
    const named = containers.flatMap((c) => c.ports ?? []).find((p) => p.name === sp.targetPort);
    if (!named) {
      throw new Error(
        `Service ${namespace}/${service} targets port '${sp.targetPort}', which pod ${pod.metadata.name} does not declare`,
      );
    }
    port = named.containerPort;
  } else port = sp.port;
  return { pod: pod.metadata.name ?? '', port };
}

function refusal(namespace: string, pod: string, port: number, e: unknown): PortForwardRefusedError {
  if (e instanceof HandshakeRefused) {
    return new PortForwardRefusedError({
      namespace,
      pod,
      port,
      code: e.code,
      status: parseStatus(e.body),
      body: e.body,
    });
  }
  return new PortForwardRefusedError({ namespace, pod, port, cause: e });
}

/**
 * Forwards 127.0.0.1:<localPort> to a pod's port, one websocket per accepted connection (as
 * kubectl port-forward does). Throws PortForwardRefusedError naming the pod and the API
 * server's Status when the API server refuses.
 */
export async function portForward(client: KubeClient, opts: PortForwardOptions): Promise<PortForwardHandle> {
  let pod = opts.pod;
  let remotePort = opts.port;
  if (!pod) {
    if (!opts.service) throw new Error('portForward needs a pod or a service');
    const t = await resolveServiceTarget(client, opts.namespace, opts.service, opts.port);
    pod = t.pod;
    remotePort = t.port;
  }
  const namespace = opts.namespace;
  const target = pod;
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(target)}/portforward?ports=${remotePort}`;
  if (opts.verify ?? true) {
    try {
      const ws = await new StatusAwareSocketHandler(client.kc).connect(path, null, () => true);
      ws.close();
    } catch (e) {
      throw refusal(namespace, target, remotePort, e);
    }
  }
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const errStream = new Writable({
      write(chunk, _enc, cb) {
        const text = chunk.toString().trim();
        if (text) errors.push(`pod ${namespace}/${target} port ${remotePort}: ${text}`);
        cb();
      },
    });
    const handler = new StatusAwareSocketHandler(client.kc, () => sock.end());
    const pf = new PortForward(
      client.kc,
      false,
      handler as unknown as ConstructorParameters<typeof PortForward>[2],
    );
    pf.portForward(namespace, target, [remotePort], sock, errStream, sock).catch((e: unknown) => {
      errors.push(refusal(namespace, target, remotePort, e).message);
      sock.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.localPort ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const localPort = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    namespace,
    pod: target,
    remotePort,
    localPort,
    errors,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
