// A stand-in Kubernetes API server (HTTPS on loopback, bearer token), kept ONLY for faults the real
// kube-apiserver of the control-plane tier (test/control-plane/) cannot be made to produce on
// demand. Everything else the harness asks of Kubernetes is tested against the real programs
// (etcd, kube-apiserver v1.24.17, controllers, scheduler, kwok, cert-manager) in that tier.
// The faults, and why the real server cannot produce them:
//  - a stuck API server that accepts a request and never answers (the client's Timeout): a real
//    kube-apiserver answers or closes; stopping it (SIGSTOP) would stall every other test sharing it;
//  - one API call failing mid-way with a server error (503 listing events while the diagnostics
//    sweep goes on): list and watch of events pass no admission webhook, so nothing in a real
//    control plane can make just that call fail;
//  - a container that restarted, and its previous log (diagnostics must collect both): kwok v0.6
//    never restarts a container and serves one log file per container whatever `previous` says;
//  - a container in ImagePullBackOff or CrashLoopBackOff in the cert-manager gate's explanation:
//    kwok does not pull images or run containers;
//  - the cert-manager API gate's "not ready yet" classes (webhook Service missing, no endpoints,
//    connection refused, CA not yet injected) in a scripted order, and a 403 on the dry run: the
//    control-plane run reaches cert-manager's webhook by URL on loopback (no Service, no endpoints)
//    and its cainjector injects the CA before the gate first asks, so these transient states of a
//    kind cluster do not occur there; the gate passing against real cert-manager is tested there;
//  - cert-manager's CRDs appearing in discovery between two polls of that gate.
// Served: discovery, get, list (label and field selectors), create (dryRun stores nothing),
// pod logs (previous included), with scripted interceptors and "after the N-th request" hooks.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { selfSignedServerCert } from './fake-tls.ts';

type Json = Record<string, unknown>;

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const rt = (group: string, version: string, kind: string, plural: string, namespaced: boolean) => ({
  group,
  version,
  kind,
  plural,
  namespaced,
});

export const CORE_TYPES: ResourceType[] = [
  rt('', 'v1', 'Namespace', 'namespaces', false),
  rt('', 'v1', 'Pod', 'pods', true),
  rt('', 'v1', 'ConfigMap', 'configmaps', true),
  rt('', 'v1', 'Event', 'events', true),
  rt('apps', 'v1', 'Deployment', 'deployments', true),
];

export const CERT_MANAGER_TYPES: ResourceType[] = [
  rt('cert-manager.io', 'v1', 'Certificate', 'certificates', true),
];

const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);
const resourceLabel = (t: ResourceType) => (t.group ? `${t.plural}.${t.group}` : t.plural);

export interface KubeStatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Json;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { message?: string }[] };
  code: number;
}

export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: KubeStatusBody['details'],
): KubeStatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
    ...(details ? { details } : {}),
  };
}

/** The Status a kube-apiserver of a kind cluster returns when calling cert-manager's webhook fails. */
export function webhookFailure(
  kind: 'service-missing' | 'connection-refused' | 'ca-not-injected' | 'no-endpoints',
): KubeStatusBody {
  const url = 'Post "https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s"';
  const tail = {
    'service-missing': `${url}: service "cert-manager-webhook" not found`,
    'connection-refused': `${url}: dial tcp 10.96.38.212:443: connect: connection refused`,
    'ca-not-injected': `${url}: x509: certificate signed by unknown authority (possibly because of "crypto/rsa: verification error" while trying to verify candidate authority certificate "cert-manager-webhook-ca")`,
    'no-endpoints': `${url}: no endpoints available for service "cert-manager-webhook"`,
  }[kind];
  const message = `Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: ${tail}`;
  return statusBody(500, 'InternalError', message, { causes: [{ message }] });
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string;
  body: string;
}

export interface Interceptor {
  method?: string;
  /** Exact path or a pattern, matched against the path without query. */
  path?: string | RegExp;
  /** How many matching requests to answer; then the interceptor retires. Default: forever. */
  times?: number;
  /** The answer, or 'hang' to never answer (until close): a stuck API server. */
  respond: (req: RecordedRequest) => { status: number; body: unknown; contentType?: string } | 'hang';
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly body: unknown,
    readonly contentType = 'application/json',
  ) {
    super('http error');
  }
}

const notFoundPage = () => new HttpError(404, '404 page not found\n', 'text/plain; charset=utf-8');

export class FakeKube {
  readonly requests: RecordedRequest[] = [];
  readonly token = `fake-token-${randomUUID()}`;
  url = '';
  caPem = '';
  private server!: Server;
  private readonly types: ResourceType[] = [];
  private readonly store = new Map<string, { type: ResourceType; obj: Json }>();
  private readonly interceptors: Interceptor[] = [];
  private readonly observers: { match: (r: RecordedRequest) => boolean; left: number; fn: () => void }[] = [];
  private readonly logs = new Map<string, string>();
  private readonly tmpDirs: string[] = [];
  private rv = 100;

  private constructor(types: ResourceType[]) {
    this.addTypes([...CORE_TYPES, ...types]);
  }

  static async start(opts: { types?: ResourceType[] } = {}): Promise<FakeKube> {
    const fake = new FakeKube(opts.types ?? []);
    const { certPem, keyPem } = await selfSignedServerCert({
      commonName: 'kube-apiserver',
      dnsNames: ['localhost'],
      ips: ['127.0.0.1'],
    });
    fake.caPem = certPem;
    fake.server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
      fake.handle(req, res).catch((e) => {
        if (!res.headersSent) fake.send(res, 500, statusBody(500, 'InternalError', `fake-kube bug: ${e}`));
      });
    });
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
    fake.url = `https://127.0.0.1:${(fake.server.address() as { port: number }).port}`;
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    for (const d of this.tmpDirs) await rm(d, { recursive: true, force: true });
  }

  /** A kubeconfig (kind-style context name) for this server, with its CA and a bearer token. */
  async writeKubeconfig(context = 'kind-fake'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'fake-kube-'));
    this.tmpDirs.push(dir);
    const path = join(dir, 'kubeconfig');
    const ca = Buffer.from(this.caPem).toString('base64');
    const yaml = YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: context, cluster: { server: this.url, 'certificate-authority-data': ca } }],
      users: [{ name: context, user: { token: this.token } }],
      contexts: [{ name: context, context: { cluster: context, user: context } }],
      'current-context': context,
    });
    await writeFile(path, yaml, { mode: 0o600 });
    return path;
  }

  addTypes(types: ResourceType[]): void {
    for (const t of types) if (!this.types.includes(t)) this.types.push(t);
  }

  intercept(i: Interceptor): void {
    this.interceptors.push(i);
  }

  /** Runs `fn` right after the response to the `times`-th request matching (default 1). */
  whenRequested(match: { method?: string; path?: string | RegExp; times?: number }, fn: () => void): void {
    this.observers.push({
      match: (r) =>
        (!match.method || match.method === r.method) &&
        (match.path === undefined ||
          (typeof match.path === 'string' ? match.path === r.path : match.path.test(r.path))),
      left: match.times ?? 1,
      fn,
    });
  }

  setLog(namespace: string, pod: string, container: string, text: string, previous = false): void {
    this.logs.set(`${namespace}/${pod}/${container}${previous ? '/previous' : ''}`, text);
  }

  /** Stores an object as a controller would (no validation). */
  put(obj: Json): Json {
    const t = this.types.find((x) => apiVersionOf(x) === obj.apiVersion && x.kind === obj.kind);
    if (!t) throw new Error(`fake-kube: ${obj.apiVersion} ${obj.kind} is not served`);
    const copy = structuredClone(obj);
    const meta = (copy.metadata ?? {}) as Json;
    meta.uid ??= randomUUID();
    meta.resourceVersion = String(++this.rv);
    meta.creationTimestamp ??= new Date().toISOString();
    copy.metadata = meta;
    this.store.set(this.key(t, meta.namespace as string | undefined, meta.name as string), {
      type: t,
      obj: copy,
    });
    return structuredClone(copy);
  }

  objects(): Json[] {
    return [...this.store.values()].map((s) => structuredClone(s.obj));
  }

  private key(t: ResourceType, namespace: string | undefined, name: string): string {
    return `${apiVersionOf(t)}/${t.plural}/${t.namespaced ? (namespace ?? 'default') : ''}/${name}`;
  }

  private send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'https://fake');
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.searchParams,
      contentType: String(req.headers['content-type'] ?? ''),
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(rec);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return this.send(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    }
    const i = this.interceptors.find(
      (x) =>
        x.times !== 0 &&
        (!x.method || x.method === rec.method) &&
        (x.path === undefined || (typeof x.path === 'string' ? x.path === rec.path : x.path.test(rec.path))),
    );
    try {
      if (i) {
        if (i.times !== undefined) i.times--;
        const r = i.respond(rec);
        if (r === 'hang') return;
        this.send(res, r.status, r.body, r.contentType);
      } else {
        this.route(rec, res);
      }
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      this.send(res, e.code, e.body, e.contentType);
    } finally {
      for (const o of this.observers) if (o.left > 0 && o.match(rec) && --o.left === 0) o.fn();
    }
  }

  private route(req: RecordedRequest, res: ServerResponse) {
    if (req.path === '/api') return this.send(res, 200, { kind: 'APIVersions', versions: ['v1'] });
    if (req.path === '/apis') {
      const groups = [...new Set(this.types.filter((t) => t.group).map((t) => apiVersionOf(t)))];
      return this.send(res, 200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((gv) => {
          const v = { groupVersion: gv, version: gv.split('/')[1] };
          return { name: gv.split('/')[0], versions: [v], preferredVersion: v };
        }),
      });
    }
    const segs = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    const [gv, rest] =
      segs[0] === 'api' ? [segs[1], segs.slice(2)] : [`${segs[1]}/${segs[2]}`, segs.slice(3)];
    const types = this.types.filter((t) => apiVersionOf(t) === gv);
    if (types.length === 0) throw notFoundPage();
    if (rest.length === 0) {
      return this.send(res, 200, {
        kind: 'APIResourceList',
        groupVersion: gv,
        resources: types.map((t) => ({
          name: t.plural,
          singularName: t.kind.toLowerCase(),
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        })),
      });
    }
    const nsd = rest[0] === 'namespaces' && rest.length >= 3;
    const [namespace, plural, name, sub] = nsd ? rest.slice(1) : [undefined, ...rest];
    const t = types.find((x) => x.plural === plural);
    if (!t) throw notFoundPage();
    if (sub === 'log' && t.kind === 'Pod') return this.podLog(req, res, namespace!, name!);
    if (name && req.method === 'GET') {
      const s = this.store.get(this.key(t, namespace, name));
      if (!s)
        throw new HttpError(404, statusBody(404, 'NotFound', `${resourceLabel(t)} "${name}" not found`));
      return this.send(res, 200, s.obj);
    }
    if (!name && req.method === 'GET') return this.list(req, res, t, namespace);
    if (!name && req.method === 'POST' && req.query.get('dryRun') === 'All') {
      // A dry run: nothing is stored.
      return this.send(res, 201, JSON.parse(req.body));
    }
    throw new HttpError(405, statusBody(405, 'MethodNotAllowed', 'not served by fake-kube'));
  }

  private list(req: RecordedRequest, res: ServerResponse, t: ResourceType, namespace?: string): void {
    const labelSelector = req.query.get('labelSelector') ?? undefined;
    const fieldSelector = req.query.get('fieldSelector') ?? undefined;
    const items = [...this.store.values()]
      .filter((s) => s.type === t && (!namespace || (s.obj.metadata as Json).namespace === namespace))
      .map((s) => s.obj)
      .filter((o) => matchesLabels(o, labelSelector) && matchesFields(o, fieldSelector))
      // Built-in kinds' list items carry no apiVersion/kind on the wire.
      .map(({ apiVersion: _a, kind: _k, ...o }) => o);
    this.send(res, 200, {
      kind: `${t.kind}List`,
      apiVersion: apiVersionOf(t),
      metadata: { resourceVersion: String(this.rv) },
      items,
    });
  }

  private podLog(req: RecordedRequest, res: ServerResponse, namespace: string, name: string): void {
    const container = req.query.get('container') ?? '';
    const previous = req.query.get('previous') === 'true';
    const text = this.logs.get(`${namespace}/${name}/${container}${previous ? '/previous' : ''}`);
    if (text === undefined) {
      const message = previous
        ? `previous terminated container "${container}" in pod "${name}" not found`
        : `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`;
      throw new HttpError(400, statusBody(400, 'BadRequest', message));
    }
    this.send(res, 200, text, 'text/plain');
  }
}

// ---- objects as a kubelet and controllers would leave them -----------------------------------

export function deployment(opts: { namespace: string; name: string; available?: boolean }): Json {
  const labels = { app: opts.name };
  const available = opts.available ?? true;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: opts.name, namespace: opts.namespace, labels, generation: 1 },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: opts.name, image: 'example/x:1' }] } },
    },
    status: {
      observedGeneration: 1,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: available ? 1 : 0,
      availableReplicas: available ? 1 : 0,
      ...(available ? {} : { unavailableReplicas: 1 }),
      conditions: [
        available
          ? {
              type: 'Available',
              status: 'True',
              reason: 'MinimumReplicasAvailable',
              message: 'Deployment has minimum availability.',
            }
          : {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            },
      ],
    },
  };
}

export function pod(opts: {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  containers?: string[];
  phase?: string;
  waiting?: { container: string; reason: string; message: string };
  terminated?: { container: string; reason: string; exitCode: number; message?: string };
  restarts?: number;
}): Json {
  const containers = opts.containers ?? ['main'];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: opts.name, namespace: opts.namespace, labels: opts.labels ?? {} },
    spec: { containers: containers.map((c) => ({ name: c, image: `example/${c}:1` })) },
    status: {
      phase: opts.phase ?? 'Running',
      containerStatuses: containers.map((c) => ({
        name: c,
        image: `example/${c}:1`,
        ready: opts.waiting?.container !== c,
        restartCount:
          opts.waiting?.container === c || opts.terminated?.container === c ? (opts.restarts ?? 0) : 0,
        state:
          opts.waiting?.container === c
            ? { waiting: { reason: opts.waiting.reason, message: opts.waiting.message } }
            : { running: { startedAt: new Date().toISOString() } },
        ...(opts.terminated?.container === c
          ? {
              lastState: {
                terminated: {
                  reason: opts.terminated.reason,
                  exitCode: opts.terminated.exitCode,
                  message: opts.terminated.message,
                },
              },
            }
          : {}),
      })),
    },
  };
}

export function namespace(name: string): Json {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } };
}

// ---- selectors --------------------------------------------------------------------------------

function getField(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[part];
  }
  return cur;
}

/** Equality label selectors (`a=b`, `a!=b`), as the harness sends them. */
function matchesLabels(obj: Json, selector: string | undefined): boolean {
  const labels = ((obj.metadata as Json | undefined)?.labels ?? {}) as Record<string, string>;
  return (selector ?? '')
    .split(',')
    .filter(Boolean)
    .every((r) => {
      const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(r.trim());
      if (!m) throw new HttpError(400, statusBody(400, 'BadRequest', `unable to parse requirement: ${r}`));
      return m[2] === '!=' ? labels[m[1]!] !== m[3] : labels[m[1]!] === m[3];
    });
}

function matchesFields(obj: Json, selector: string | undefined): boolean {
  return (selector ?? '')
    .split(',')
    .filter(Boolean)
    .every((part) => {
      const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(part.trim());
      if (!m) throw new HttpError(400, statusBody(400, 'BadRequest', `invalid field selector: ${part}`));
      const v = getField(obj, m[1]!);
      const s = v === undefined || v === null ? '' : String(v);
      return m[2] === '!=' ? s !== m[3] : s === m[3];
    });
}
