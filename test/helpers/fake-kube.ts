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
// Not yet trimmed to those: test/cluster/driver-seam.test.ts (the cluster-driver seam, landed in
// parallel) still applies, patches and reads Secrets through it; it can move to the control-plane
// tier like the rest, and this file then shrinks to the faults above.
//
// A local HTTPS server that speaks the Kubernetes REST protocol for the calls the harness makes,
// so the Kubernetes layer is tested against real HTTP, TLS, auth, status codes, content types
// and watch streams instead of mocks. Faithful where the harness depends on it:
//  - discovery (/api, /apis, /apis/<g>/<v>) as client-node's KubernetesObjectApi reads it;
//  - create (dryRun=All runs validation and stores nothing), get, list (labelSelector,
//    fieldSelector, limit/continue), replace, delete;
//  - PATCH: server-side apply (application/apply-patch+yaml; fieldManager required; field
//    ownership with 409 conflicts unless force=true), merge, strategic (as merge) and JSON patch;
//  - watch (?watch=true): newline-delimited JSON events, application/json, initial ADDED events,
//    replay from resourceVersion, 410 Expired, ends at timeoutSeconds;
//  - errors as real Status objects (404 NotFound, 409 AlreadyExists/Conflict, 422 Invalid, ...);
//  - pod logs (incl. previous) and port-forward over websocket (refused with a Status by default;
//    accepted and bridged to a loopback TCP port when scripted).
// Simplifications (documented so tests do not lean on them): lists are atomic in apply (no
// list-map merge keys), strategic merge patch behaves as JSON merge patch, namespaces are deleted
// at once with their contents, there is no controller (tests script status changes).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import YAML from 'yaml';
import { selfSignedServerCert } from './fake-tls.ts';

type Json = Record<string, unknown>;

export interface Cause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  /** Whether `status` is a subresource (main-resource writes ignore status). */
  status?: boolean;
  /** Schema-like validation: causes make the write fail with 422 Invalid. */
  validate?: (obj: Json) => Cause[];
}

const rt = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType => ({ group, version, kind, plural, namespaced, status: true, ...extra });

export const CORE_TYPES: ResourceType[] = [
  rt('', 'v1', 'Namespace', 'namespaces', false, { shortNames: ['ns'] }),
  rt('', 'v1', 'Node', 'nodes', false),
  rt('', 'v1', 'Pod', 'pods', true, { shortNames: ['po'] }),
  rt('', 'v1', 'Service', 'services', true, { shortNames: ['svc'] }),
  rt('', 'v1', 'Endpoints', 'endpoints', true, { status: false }),
  rt('', 'v1', 'Secret', 'secrets', true, { status: false }),
  rt('', 'v1', 'ConfigMap', 'configmaps', true, { status: false, shortNames: ['cm'] }),
  rt('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { status: false, shortNames: ['sa'] }),
  rt('', 'v1', 'Event', 'events', true, { status: false, shortNames: ['ev'] }),
  rt('apps', 'v1', 'Deployment', 'deployments', true, { shortNames: ['deploy'] }),
  rt('apps', 'v1', 'DaemonSet', 'daemonsets', true, { shortNames: ['ds'] }),
  rt('apps', 'v1', 'ReplicaSet', 'replicasets', true, { shortNames: ['rs'] }),
  rt('apps', 'v1', 'StatefulSet', 'statefulsets', true, { shortNames: ['sts'] }),
  rt('batch', 'v1', 'Job', 'jobs', true),
  rt('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, { shortNames: ['ing'] }),
  rt('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, {
    shortNames: ['crd'],
  }),
];

/** cert-manager's schema requires these (and its webhook requires at least one identity). */
function validateCertificate(obj: Json): Cause[] {
  const spec = (obj.spec ?? {}) as Json;
  const causes: Cause[] = [];
  if (!spec.secretName) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.secretName' });
  }
  if (!(spec.issuerRef as Json | undefined)?.name) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.issuerRef.name' });
  }
  const ids = ['commonName', 'dnsNames', 'uris', 'ipAddresses', 'emailAddresses', 'literalSubject'];
  if (!ids.some((k) => spec[k] !== undefined)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message:
        'Invalid value: "": at least one of commonName (from the commonName field or from a literalSubject), dnsNames, uriSANs, ipAddresses, emailSANs or otherNames must be set',
      field: 'spec',
    });
  }
  return causes;
}

export const CERT_MANAGER_TYPES: ResourceType[] = [
  rt('cert-manager.io', 'v1', 'Certificate', 'certificates', true, {
    shortNames: ['cert', 'certs'],
    validate: validateCertificate,
  }),
  rt('cert-manager.io', 'v1', 'CertificateRequest', 'certificaterequests', true, { shortNames: ['cr'] }),
  rt('cert-manager.io', 'v1', 'Issuer', 'issuers', true),
  rt('cert-manager.io', 'v1', 'ClusterIssuer', 'clusterissuers', false),
];

export const KNATIVE_TYPES: ResourceType[] = [
  rt('serving.knative.dev', 'v1', 'Service', 'services', true, { shortNames: ['ksvc'] }),
  rt('serving.knative.dev', 'v1', 'Revision', 'revisions', true),
];

export const CONTOUR_TYPES: ResourceType[] = [
  rt('projectcontour.io', 'v1', 'TLSCertificateDelegation', 'tlscertificatedelegations', true, {
    status: false,
  }),
  rt('projectcontour.io', 'v1', 'HTTPProxy', 'httpproxies', true),
];

const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);
const resourceLabel = (t: ResourceType) => (t.group ? `${t.plural}.${t.group}` : t.plural);

export interface KubeStatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Json;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: Cause[] };
  code: number;
}

export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: KubeStatusBody['details'],
): KubeStatusBody {
  const s: KubeStatusBody = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details) s.details = details;
  return s;
}

/** The Status a kube-apiserver returns when calling a cert-manager admission webhook fails. */
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
  headers: IncomingMessage['headers'];
  contentType: string;
  body: string;
}

export interface Interceptor {
  method?: string;
  /** Exact path or a pattern, matched against the path without query. */
  path?: string | RegExp;
  match?: (req: RecordedRequest) => boolean;
  /** How many matching requests to answer; then the interceptor retires. Default: forever. */
  times?: number;
  /** The answer, or 'hang' to never answer (until close): a stuck API server. */
  respond: (req: RecordedRequest) => { status: number; body: unknown; contentType?: string } | 'hang';
}

export type PortForwardDecision = { accept: { host: string; port: number } } | { refuse: KubeStatusBody };

interface Stored {
  type: ResourceType;
  obj: Json;
  /** Server-side apply/update ownership: manager -> leaf field paths. */
  owners: Map<string, { op: 'Apply' | 'Update'; paths: Set<string> }>;
}

interface Watcher {
  type: ResourceType;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  res: ServerResponse;
}

interface HistoryEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  rtype: ResourceType;
  obj: Json;
}

class HttpError extends Error {
  constructor(
    readonly status: KubeStatusBody | { code: number; text: string },
    readonly contentType = 'application/json',
  ) {
    super('http error');
  }
}

const notFoundPage = () =>
  new HttpError({ code: 404, text: '404 page not found\n' }, 'text/plain; charset=utf-8');

export interface FakeKubeOptions {
  /** Extra kinds to serve beyond the core ones (e.g. CERT_MANAGER_TYPES). */
  types?: ResourceType[];
  token?: string;
  gitVersion?: string;
}

export class FakeKube {
  readonly requests: RecordedRequest[] = [];
  readonly token: string;
  url = '';
  caPem = '';
  private server!: Server;
  private readonly types: ResourceType[] = [];
  private readonly store = new Map<string, Stored>();
  private readonly watchers = new Set<Watcher>();
  private readonly history: HistoryEvent[] = [];
  private readonly interceptors: Interceptor[] = [];
  private readonly observers: { match: (r: RecordedRequest) => boolean; left: number; fn: () => void }[] = [];
  private readonly logs = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tmpDirs: string[] = [];
  private rv = 100;
  private historyStart = 101;
  private readonly gitVersion: string;
  /** Port-forward policy; default: refuse like an RBAC denial, 404 for a missing pod. */
  portForward: (namespace: string, pod: string, port: number) => PortForwardDecision;

  private constructor(opts: FakeKubeOptions) {
    this.token = opts.token ?? `fake-token-${randomUUID()}`;
    this.gitVersion = opts.gitVersion ?? 'v1.24.17';
    this.addTypes([...CORE_TYPES, ...(opts.types ?? [])]);
    this.portForward = (namespace, pod) => ({
      refuse: statusBody(
        403,
        'Forbidden',
        `pods "${pod}" is forbidden: User "kind-harness" cannot create resource "pods/portforward" in API group "" in the namespace "${namespace}"`,
        { name: pod, kind: 'pods' },
      ),
    });
  }

  static async start(opts: FakeKubeOptions = {}): Promise<FakeKube> {
    const fake = new FakeKube(opts);
    const { certPem, keyPem } = await selfSignedServerCert({
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes.default.svc'],
      ips: ['127.0.0.1'],
    });
    fake.caPem = certPem;
    fake.server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
      fake.handle(req, res).catch((e) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify(statusBody(500, 'InternalError', `fake-kube bug: ${(e as Error).stack}`)));
        }
      });
    });
    fake.server.on('upgrade', (req, socket, head) => fake.handleUpgrade(req, socket, head));
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
    const addr = fake.server.address();
    if (!addr || typeof addr === 'string') throw new Error('fake-kube: no address');
    fake.url = `https://127.0.0.1:${addr.port}`;
    return fake;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    for (const c of this.wss.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    for (const d of this.tmpDirs) await rm(d, { recursive: true, force: true });
  }

  /** A kubeconfig (kind-style context name) for this server, with the CA and a bearer token. */
  kubeconfigYaml(context = 'kind-fake'): string {
    return YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: context,
          cluster: {
            server: this.url,
            'certificate-authority-data': Buffer.from(this.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: context, user: { token: this.token } }],
      contexts: [{ name: context, context: { cluster: context, user: context } }],
      'current-context': context,
    });
  }

  async writeKubeconfig(context = 'kind-fake'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'fake-kube-'));
    this.tmpDirs.push(dir);
    const path = join(dir, 'kubeconfig');
    await writeFile(path, this.kubeconfigYaml(context), { mode: 0o600 });
    return path;
  }

  // ---- scripting ----------------------------------------------------------------------------

  addTypes(types: ResourceType[]): void {
    for (const t of types) {
      if (!this.types.some((x) => x.group === t.group && x.version === t.version && x.plural === t.plural)) {
        this.types.push(t);
      }
    }
  }

  /** Removes kinds from discovery (e.g. to play "cert-manager CRDs not installed yet"). */
  removeTypes(types: ResourceType[]): void {
    for (const t of types) {
      const i = this.types.findIndex(
        (x) => x.group === t.group && x.version === t.version && x.plural === t.plural,
      );
      if (i >= 0) this.types.splice(i, 1);
    }
  }

  intercept(i: Interceptor): void {
    this.interceptors.push(i);
  }

  /**
   * Runs `fn` right after the response to the `times`-th request matching `match` (default 1):
   * a deterministic "becomes ready after N polls" script, free of wall-clock timing.
   */
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

  /** Runs `fn` after `ms` (cleared on close): for "becomes Ready after T ms" scripts. */
  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  setLog(namespace: string, pod: string, container: string, text: string, previous = false): void {
    this.logs.set(`${namespace}/${pod}/${container}${previous ? '/previous' : ''}`, text);
  }

  /** Stores an object as a controller or another client would (no validation), emitting a watch event. */
  put(obj: Json, manager = 'fake-controller'): Json {
    const t = this.typeFor(obj.apiVersion as string, obj.kind as string);
    const meta = (obj.metadata ?? {}) as Json;
    const key = this.key(t, meta.namespace as string | undefined, meta.name as string);
    const existing = this.store.get(key);
    const copy = structuredClone(obj);
    if (existing) {
      this.writeObject(existing, copy, manager, 'Update', 'all');
      return structuredClone(existing.obj);
    }
    return structuredClone(this.insert(t, copy, manager, 'Update'));
  }

  /** Merges into an object's status (as its controller would), emitting MODIFIED. */
  setStatus(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    status: Json,
  ): void {
    const t = this.typeFor(apiVersion, kind);
    const s = this.store.get(this.key(t, namespace, name));
    if (!s) throw new Error(`fake-kube: setStatus on missing ${kind} ${namespace}/${name}`);
    s.obj.status = { ...((s.obj.status as Json) ?? {}), ...status };
    this.bump(s, 'MODIFIED');
  }

  getObject(apiVersion: string, kind: string, namespace: string | undefined, name: string): Json | undefined {
    const s = this.store.get(this.key(this.typeFor(apiVersion, kind), namespace, name));
    return s ? structuredClone(s.obj) : undefined;
  }

  /** Deletes without an API call (e.g. the TTL controller removing a finished Job). */
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): void {
    const t = this.typeFor(apiVersion, kind);
    const key = this.key(t, namespace, name);
    const s = this.store.get(key);
    if (!s) return;
    this.store.delete(key);
    this.rv++;
    this.emit('DELETED', t, {
      ...s.obj,
      metadata: { ...(s.obj.metadata as Json), resourceVersion: String(this.rv) },
    });
  }

  objects(): Json[] {
    return [...this.store.values()].map((s) => structuredClone(s.obj));
  }

  /** Managers that own fields of an object, as managedFields would report them. */
  managersOf(apiVersion: string, kind: string, namespace: string | undefined, name: string): string[] {
    const s = this.store.get(this.key(this.typeFor(apiVersion, kind), namespace, name));
    return s ? [...s.owners.keys()] : [];
  }

  // ---- internals ----------------------------------------------------------------------------

  private typeFor(apiVersion: string, kind: string): ResourceType {
    const t = this.types.find((x) => apiVersionOf(x) === apiVersion && x.kind === kind);
    if (!t) throw new Error(`fake-kube: ${apiVersion} ${kind} is not served`);
    return t;
  }

  private key(t: ResourceType, namespace: string | undefined, name: string): string {
    return `${t.group}/${t.version}/${t.plural}/${t.namespaced ? (namespace ?? 'default') : ''}/${name}`;
  }

  private nextRv(): string {
    this.rv++;
    return String(this.rv);
  }

  private insert(t: ResourceType, obj: Json, manager: string, op: 'Apply' | 'Update'): Json {
    const meta = (obj.metadata ?? {}) as Json;
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    meta.uid = meta.uid ?? randomUUID();
    meta.creationTimestamp = meta.creationTimestamp ?? new Date().toISOString();
    meta.generation = 1;
    if (!t.namespaced) delete meta.namespace;
    else meta.namespace = meta.namespace ?? 'default';
    obj.metadata = meta;
    const stored: Stored = { type: t, obj, owners: new Map() };
    stored.owners.set(manager, { op, paths: new Set(leafPaths(obj, t).keys()) });
    this.store.set(this.key(t, meta.namespace as string | undefined, meta.name as string), stored);
    this.bump(stored, 'ADDED');
    if (t.kind === 'CustomResourceDefinition') this.establish(stored);
    return obj;
  }

  /**
   * As the apiextensions server: a CRD's kinds become served and the CRD reports Established,
   * a moment after it is created (clients must wait for it, as they must on a real server).
   */
  private establish(s: Stored): void {
    this.after(0, () => {
      const spec = (s.obj.spec ?? {}) as {
        group?: string;
        scope?: string;
        names?: { kind?: string; plural?: string; shortNames?: string[] };
        versions?: { name: string; served?: boolean; subresources?: { status?: unknown } }[];
      };
      for (const v of spec.versions ?? []) {
        if (v.served === false || !spec.group || !spec.names?.kind || !spec.names.plural) continue;
        this.addTypes([
          {
            group: spec.group,
            version: v.name,
            kind: spec.names.kind,
            plural: spec.names.plural,
            namespaced: spec.scope !== 'Cluster',
            status: Boolean(v.subresources?.status),
            ...(spec.names.shortNames ? { shortNames: spec.names.shortNames } : {}),
          },
        ]);
      }
      const now = new Date().toISOString();
      s.obj.status = {
        conditions: [
          {
            type: 'NamesAccepted',
            status: 'True',
            reason: 'NoConflicts',
            message: 'no conflicts found',
            lastTransitionTime: now,
          },
          {
            type: 'Established',
            status: 'True',
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
            lastTransitionTime: now,
          },
        ],
        acceptedNames: spec.names,
        storedVersions: (spec.versions ?? []).map((v) => v.name),
      };
      this.bump(s, 'MODIFIED');
    });
  }

  /** Replaces an object's content as `manager`, keeping identity metadata and bumping versions. */
  private writeObject(
    s: Stored,
    next: Json,
    manager: string,
    op: 'Apply' | 'Update',
    mode: 'main' | 'status' | 'all',
  ): void {
    const before = s.obj;
    const meta = before.metadata as Json;
    const statusOnly = mode === 'status';
    let merged: Json;
    if (statusOnly) {
      merged = { ...before, status: next.status };
    } else {
      merged = { ...next, apiVersion: before.apiVersion, kind: before.kind };
      // Writes to the main resource cannot change status when status is a subresource.
      if (s.type.status && mode === 'main') {
        if (before.status === undefined) delete merged.status;
        else merged.status = before.status;
      }
      const nm = (next.metadata ?? {}) as Json;
      merged.metadata = {
        ...nm,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        creationTimestamp: meta.creationTimestamp,
        generation: meta.generation,
      };
      if (!s.type.namespaced) delete (merged.metadata as Json).namespace;
    }
    const changedSpec = !statusOnly && specChanged(before, merged);
    const changedAny = JSON.stringify(stripVolatile(before)) !== JSON.stringify(stripVolatile(merged));
    if (!changedAny) return;
    if (changedSpec) (merged.metadata as Json).generation = ((meta.generation as number) ?? 1) + 1;
    // The writer now owns every leaf it changed.
    const oldLeaves = leafPaths(before, s.type);
    const newLeaves = leafPaths(merged, s.type);
    const changed = [...newLeaves.entries()].filter(
      ([p, v]) => JSON.stringify(oldLeaves.get(p)) !== JSON.stringify(v),
    );
    for (const [m, own] of s.owners) {
      if (m === manager) continue;
      for (const [p] of changed) own.paths.delete(p);
      for (const p of [...own.paths]) if (!newLeaves.has(p)) own.paths.delete(p);
      if (own.paths.size === 0) s.owners.delete(m);
    }
    if (op === 'Update') {
      const own = s.owners.get(manager) ?? { op, paths: new Set<string>() };
      for (const [p] of changed) own.paths.add(p);
      if (own.paths.size) s.owners.set(manager, own);
    }
    s.obj = merged;
    this.bump(s, 'MODIFIED');
  }

  private bump(s: Stored, type: HistoryEvent['type']): void {
    const meta = s.obj.metadata as Json;
    meta.resourceVersion = this.nextRv();
    meta.managedFields = [...s.owners.entries()].map(([manager, own]) => ({
      manager,
      operation: own.op,
      apiVersion: apiVersionOf(s.type),
      time: new Date().toISOString(),
      fieldsType: 'FieldsV1',
      fieldsV1: fieldsV1([...own.paths]),
    }));
    this.emit(type, s.type, s.obj);
  }

  private emit(type: HistoryEvent['type'], t: ResourceType, obj: Json): void {
    const ev: HistoryEvent = { rv: this.rv, type, rtype: t, obj: structuredClone(obj) };
    this.history.push(ev);
    if (this.history.length > 1000) {
      this.history.shift();
      this.historyStart = this.history[0]?.rv ?? this.rv;
    }
    for (const w of this.watchers) {
      if (this.watcherMatches(w, ev)) w.res.write(`${JSON.stringify({ type, object: ev.obj })}\n`);
    }
  }

  private watcherMatches(w: Watcher, ev: HistoryEvent): boolean {
    if (w.type !== ev.rtype) return false;
    const meta = ev.obj.metadata as Json;
    if (w.namespace && meta.namespace !== w.namespace) return false;
    return matchesLabels(ev.obj, w.labelSelector) && matchesFields(ev.obj, w.fieldSelector);
  }

  private authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${this.token}`;
  }

  private send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'https://fake');
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      contentType: String(req.headers['content-type'] ?? ''),
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(rec);
    if (!this.authorized(req)) {
      this.send(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    for (const i of this.interceptors) {
      if (i.times === 0) continue;
      if (i.method && i.method !== rec.method) continue;
      if (typeof i.path === 'string' && i.path !== rec.path) continue;
      if (i.path instanceof RegExp && !i.path.test(rec.path)) continue;
      if (i.match && !i.match(rec)) continue;
      if (i.times !== undefined) i.times--;
      const r = i.respond(rec);
      if (r === 'hang') return;
      this.send(res, r.status, r.body, r.contentType);
      this.notifyObservers(rec);
      return;
    }
    try {
      await this.route(rec, res);
      this.notifyObservers(rec);
    } catch (e) {
      this.notifyObservers(rec);
      if (e instanceof HttpError) {
        const s = e.status;
        if ('text' in s) this.send(res, s.code, s.text, e.contentType);
        else this.send(res, s.code, s);
        return;
      }
      throw e;
    }
  }

  private notifyObservers(rec: RecordedRequest): void {
    for (const o of this.observers) {
      if (o.left > 0 && o.match(rec) && --o.left === 0) o.fn();
    }
  }

  private discoveryList(group: string, version: string): Json {
    const types = this.types.filter((t) => t.group === group && t.version === version);
    const resources: Json[] = [];
    for (const t of types) {
      resources.push({
        name: t.plural,
        singularName: t.kind.toLowerCase(),
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
        ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      });
      if (t.status) {
        resources.push({
          name: `${t.plural}/status`,
          singularName: '',
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['get', 'patch', 'update'],
        });
      }
      if (t.kind === 'Pod' && !t.group) {
        resources.push({ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] });
        resources.push({
          name: 'pods/portforward',
          singularName: '',
          namespaced: true,
          kind: 'PodPortForwardOptions',
          verbs: ['create', 'get'],
        });
      }
    }
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources,
    };
  }

  private async route(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const segs = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.path === '/version') {
      const [major, minor] = this.gitVersion.replace(/^v/, '').split('.');
      this.send(res, 200, { major, minor, gitVersion: this.gitVersion, platform: 'linux/amd64' });
      return;
    }
    if (req.path === '/api' || req.path === '/api/') {
      this.send(res, 200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '172.18.0.2:6443' }],
      });
      return;
    }
    if (req.path === '/apis' || req.path === '/apis/') {
      const groups = new Map<string, Set<string>>();
      for (const t of this.types)
        if (t.group) groups.set(t.group, (groups.get(t.group) ?? new Set()).add(t.version));
      this.send(res, 200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...groups.entries()].map(([name, vs]) => {
          const versions = [...vs].map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
          return { name, versions, preferredVersion: versions[0] };
        }),
      });
      return;
    }
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs[1] === 'v1') {
      group = '';
      version = 'v1';
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 3) {
      group = segs[1] as string;
      version = segs[2] as string;
      rest = segs.slice(3);
    } else {
      throw notFoundPage();
    }
    if (!this.types.some((t) => t.group === group && t.version === version)) throw notFoundPage();
    if (rest.length === 0) {
      if (req.method !== 'GET') throw notFoundPage();
      this.send(res, 200, this.discoveryList(group, version));
      return;
    }
    // Resolve namespace / plural / name / subresource.
    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    let sub: string | undefined;
    if (
      rest[0] === 'namespaces' &&
      rest.length >= 3 &&
      !(rest.length === 3 && ['status', 'finalize'].includes(rest[2] as string))
    ) {
      namespace = rest[1];
      plural = rest[2] as string;
      name = rest[3];
      sub = rest[4];
    } else {
      plural = rest[0] as string;
      name = rest[1];
      sub = rest[2];
    }
    const t = this.types.find((x) => x.group === group && x.version === version && x.plural === plural);
    if (!t) throw notFoundPage();
    if (namespace && !t.namespaced) throw notFoundPage();
    if (t.namespaced && name && !namespace) throw notFoundPage();
    if (sub === 'log' && t.kind === 'Pod' && !t.group)
      return this.podLog(req, res, namespace as string, name as string);
    if (sub && !(sub === 'status' && t.status)) throw notFoundPage();
    const m = req.method;
    if (!name) {
      if (m === 'GET') return this.listOrWatch(req, res, t, namespace);
      if (m === 'POST') return this.create(req, res, t, namespace);
      throw new HttpError(
        statusBody(
          405,
          'MethodNotAllowed',
          `the server does not allow this method on the requested resource`,
        ),
      );
    }
    if (m === 'GET') return this.send(res, 200, this.mustGet(t, namespace, name).obj);
    if (m === 'PUT') return this.replace(req, res, t, namespace, name, sub === 'status');
    if (m === 'PATCH') return this.patch(req, res, t, namespace, name, sub === 'status');
    if (m === 'DELETE') return this.delete(req, res, t, namespace, name);
    throw new HttpError(
      statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
    );
  }

  private notFound(t: ResourceType, name: string): HttpError {
    return new HttpError(
      statusBody(404, 'NotFound', `${resourceLabel(t)} "${name}" not found`, {
        name,
        ...(t.group ? { group: t.group } : {}),
        kind: t.plural,
      }),
    );
  }

  private mustGet(t: ResourceType, namespace: string | undefined, name: string): Stored {
    const s = this.store.get(this.key(t, namespace, name));
    if (!s) throw this.notFound(t, name);
    return s;
  }

  private invalid(t: ResourceType, name: string, causes: Cause[]): HttpError {
    const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    return new HttpError(
      statusBody(
        422,
        'Invalid',
        `${t.kind}${t.group ? `.${t.group}` : ''} "${name}" is invalid: ${summary}`,
        {
          name,
          ...(t.group ? { group: t.group } : {}),
          kind: t.kind,
          causes,
        },
      ),
    );
  }

  private validate(t: ResourceType, obj: Json): void {
    const meta = (obj.metadata ?? {}) as Json;
    const name = String(meta.name ?? '');
    const causes: Cause[] = [];
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        field: 'metadata.name',
      });
    }
    causes.push(...(t.validate?.(obj) ?? []));
    if (causes.length) throw this.invalid(t, name, causes);
  }

  private parseBody(req: RecordedRequest): Json {
    try {
      const v = req.contentType.includes('yaml') ? YAML.parse(req.body) : JSON.parse(req.body);
      if (!v || typeof v !== 'object') throw new Error('not an object');
      return v as Json;
    } catch (e) {
      throw new HttpError(
        statusBody(
          400,
          'BadRequest',
          `the body of the request was in an unknown format: ${(e as Error).message}`,
        ),
      );
    }
  }

  private checkIdentity(t: ResourceType, obj: Json, namespace: string | undefined, name?: string): void {
    if (obj.apiVersion !== apiVersionOf(t) || obj.kind !== t.kind) {
      throw new HttpError(
        statusBody(
          400,
          'BadRequest',
          `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(t)}), or kind ${obj.kind} is not ${t.kind}`,
        ),
      );
    }
    const meta = (obj.metadata ?? {}) as Json;
    if (t.namespaced && meta.namespace && namespace && meta.namespace !== namespace) {
      throw new HttpError(
        statusBody(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        ),
      );
    }
    if (name && meta.name && meta.name !== name) {
      throw new HttpError(
        statusBody(400, 'BadRequest', 'the name of the object does not match the name on the URL'),
      );
    }
  }

  /** As the NamespaceLifecycle admission plugin: no object goes into a missing namespace. */
  private checkNamespaceExists(t: ResourceType, ns: string | undefined): void {
    if (!t.namespaced || !ns || ns === 'default') return;
    if (!this.store.has(this.key(this.typeFor('v1', 'Namespace'), undefined, ns))) {
      throw new HttpError(
        statusBody(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }),
      );
    }
  }

  private create(
    req: RecordedRequest,
    res: ServerResponse,
    t: ResourceType,
    namespace: string | undefined,
  ): void {
    const obj = this.parseBody(req);
    this.checkIdentity(t, obj, namespace);
    const meta = (obj.metadata ?? {}) as Json;
    obj.metadata = meta;
    if (!meta.name) {
      if (!meta.generateName) {
        throw this.invalid(t, '', [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: name or generateName is required',
            field: 'metadata.name',
          },
        ]);
      }
      meta.name = `${meta.generateName}${Math.random().toString(36).slice(2, 7)}`;
    }
    if (t.namespaced) meta.namespace = namespace ?? meta.namespace ?? 'default';
    const name = meta.name as string;
    if (this.store.has(this.key(t, meta.namespace as string | undefined, name))) {
      throw new HttpError(
        statusBody(409, 'AlreadyExists', `${resourceLabel(t)} "${name}" already exists`, {
          name,
          ...(t.group ? { group: t.group } : {}),
          kind: t.plural,
        }),
      );
    }
    this.checkNamespaceExists(t, meta.namespace as string | undefined);
    this.validate(t, obj);
    const manager = req.query.get('fieldManager') ?? 'unknown';
    if (req.query.get('dryRun') === 'All') {
      // Dry run: admission and validation ran; nothing is stored and no resourceVersion is set.
      const out = structuredClone(obj);
      const om = out.metadata as Json;
      om.uid = randomUUID();
      om.creationTimestamp = new Date().toISOString();
      om.generation = 1;
      this.send(res, 201, out);
      return;
    }
    if (t.status) delete obj.status;
    this.send(res, 201, this.insert(t, obj, manager, 'Update'));
  }

  private replace(
    req: RecordedRequest,
    res: ServerResponse,
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    statusOnly: boolean,
  ): void {
    const obj = this.parseBody(req);
    this.checkIdentity(t, obj, namespace, name);
    const s = this.mustGet(t, namespace, name);
    const rv = (obj.metadata as Json | undefined)?.resourceVersion;
    if (rv && rv !== (s.obj.metadata as Json).resourceVersion) {
      throw new HttpError(
        statusBody(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${resourceLabel(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name, ...(t.group ? { group: t.group } : {}), kind: t.plural },
        ),
      );
    }
    if (!statusOnly) this.validate(t, obj);
    if (req.query.get('dryRun') !== 'All') {
      this.writeObject(
        s,
        obj,
        req.query.get('fieldManager') ?? 'unknown',
        'Update',
        statusOnly ? 'status' : 'main',
      );
    }
    this.send(res, 200, s.obj);
  }

  private patch(
    req: RecordedRequest,
    res: ServerResponse,
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    statusOnly: boolean,
  ): void {
    const ct = req.contentType.split(';')[0]?.trim();
    if (ct === 'application/apply-patch+yaml') {
      this.apply(req, res, t, namespace, name);
      return;
    }
    const s = this.mustGet(t, namespace, name);
    let next: Json;
    if (ct === 'application/merge-patch+json' || ct === 'application/strategic-merge-patch+json') {
      next = mergePatch(structuredClone(s.obj), this.parseBody(req)) as Json;
    } else if (ct === 'application/json-patch+json') {
      let ops: unknown;
      try {
        ops = JSON.parse(req.body);
      } catch {
        throw new HttpError(
          statusBody(400, 'BadRequest', 'the body of the request was in an unknown format'),
        );
      }
      try {
        next = applyJsonPatch(structuredClone(s.obj), ops as JsonOp[]);
      } catch (e) {
        throw this.invalid(t, name, [
          { reason: 'FieldValueInvalid', message: (e as Error).message, field: 'patch' },
        ]);
      }
    } else {
      throw new HttpError(
        statusBody(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        ),
      );
    }
    if (!statusOnly) this.validate(t, next);
    if (req.query.get('dryRun') === 'All') {
      this.send(res, 200, next);
      return;
    }
    this.writeObject(
      s,
      next,
      req.query.get('fieldManager') ?? 'unknown',
      'Update',
      statusOnly ? 'status' : 'main',
    );
    this.send(res, 200, s.obj);
  }

  /** Server-side apply: create or merge, with field ownership and conflicts. */
  private apply(
    req: RecordedRequest,
    res: ServerResponse,
    t: ResourceType,
    namespace: string | undefined,
    name: string,
  ): void {
    const manager = req.query.get('fieldManager');
    if (!manager) {
      throw this.invalid(t, name, [
        {
          reason: 'FieldValueRequired',
          message: 'Required value: is required for apply patch',
          field: 'fieldManager',
        },
      ]);
    }
    const force = req.query.get('force') === 'true';
    const dry = req.query.get('dryRun') === 'All';
    const applied = this.parseBody({ ...req, contentType: 'application/yaml' });
    this.checkIdentity(t, applied, namespace, name);
    const meta = (applied.metadata ?? {}) as Json;
    meta.name = name;
    if (t.namespaced) meta.namespace = namespace;
    applied.metadata = meta;
    if (t.status) delete applied.status;
    const appliedLeaves = leafPaths(applied, t);
    const s = this.store.get(this.key(t, namespace, name));
    if (!s) {
      this.checkNamespaceExists(t, namespace);
      this.validate(t, applied);
      if (dry) {
        this.send(res, 201, applied);
        return;
      }
      const created = this.insert(t, applied, manager, 'Apply');
      this.send(res, 201, created);
      return;
    }
    // Conflicts: another manager owns a field this apply sets to a different value.
    const current = leafPaths(s.obj, t);
    const conflicts: { manager: string; path: string }[] = [];
    for (const [p, v] of appliedLeaves) {
      if (JSON.stringify(current.get(p)) === JSON.stringify(v)) continue;
      for (const [m, own] of s.owners) {
        if (m !== manager && own.paths.has(p)) conflicts.push({ manager: m, path: p });
      }
    }
    if (conflicts.length && !force) {
      const lines = conflicts.map((c) => `conflict with "${c.manager}": .${c.path}`);
      throw new HttpError(
        statusBody(
          409,
          'Conflict',
          `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${lines.join('\n')}`,
          {
            name,
            ...(t.group ? { group: t.group } : {}),
            kind: t.plural,
            causes: conflicts.map((c) => ({
              reason: 'FieldManagerConflict',
              message: `conflict with "${c.manager}" using ${apiVersionOf(t)}`,
              field: `.${c.path}`,
            })),
          },
        ),
      );
    }
    // Merge: drop what this manager applied before and no longer applies (unless others own it),
    // then set every applied leaf.
    let next: Json = structuredClone(s.obj);
    const prior = s.owners.get(manager)?.paths ?? new Set<string>();
    for (const p of prior) {
      if (appliedLeaves.has(p)) continue;
      const ownedElsewhere = [...s.owners.entries()].some(([m, o]) => m !== manager && o.paths.has(p));
      if (!ownedElsewhere) next = deletePath(next, p);
    }
    for (const [p, v] of appliedLeaves) next = setPath(next, p, v);
    this.validate(t, next);
    if (dry) {
      this.send(res, 200, next);
      return;
    }
    for (const c of conflicts) s.owners.get(c.manager)?.paths.delete(c.path);
    for (const [m, o] of s.owners) if (o.paths.size === 0 && m !== manager) s.owners.delete(m);
    s.owners.set(manager, { op: 'Apply', paths: new Set(appliedLeaves.keys()) });
    const before = JSON.stringify(stripVolatile(s.obj));
    if (JSON.stringify(stripVolatile(next)) === before) {
      // A no-op apply changes nothing, not even the resourceVersion (as on a real server).
      this.send(res, 200, s.obj);
      return;
    }
    if (specChanged(s.obj, next))
      (next.metadata as Json).generation = (((s.obj.metadata as Json).generation as number) ?? 1) + 1;
    s.obj = next;
    this.bump(s, 'MODIFIED');
    this.send(res, 200, s.obj);
  }

  private delete(
    req: RecordedRequest,
    res: ServerResponse,
    t: ResourceType,
    namespace: string | undefined,
    name: string,
  ): void {
    const key = this.key(t, namespace, name);
    const s = this.store.get(key);
    if (!s) throw this.notFound(t, name);
    if (req.query.get('dryRun') === 'All') {
      this.send(res, 200, s.obj);
      return;
    }
    if (t.kind === 'Namespace' && !t.group) {
      for (const [k, o] of [...this.store.entries()]) {
        if ((o.obj.metadata as Json).namespace === name) {
          this.store.delete(k);
          this.rv++;
          this.emit('DELETED', o.type, o.obj);
        }
      }
    }
    this.store.delete(key);
    this.rv++;
    const gone = { ...s.obj, metadata: { ...(s.obj.metadata as Json), resourceVersion: String(this.rv) } };
    this.emit('DELETED', t, gone);
    this.send(res, 200, gone);
  }

  private listOrWatch(
    req: RecordedRequest,
    res: ServerResponse,
    t: ResourceType,
    namespace: string | undefined,
  ): void {
    const labelSelector = req.query.get('labelSelector') ?? undefined;
    const fieldSelector = req.query.get('fieldSelector') ?? undefined;
    let items = [...this.store.values()]
      .filter((s) => s.type === t && (!namespace || (s.obj.metadata as Json).namespace === namespace))
      .map((s) => s.obj);
    try {
      items = items.filter((o) => matchesLabels(o, labelSelector) && matchesFields(o, fieldSelector));
    } catch (e) {
      throw new HttpError(statusBody(400, 'BadRequest', (e as Error).message));
    }
    items.sort(
      (a, b) =>
        String((a.metadata as Json).namespace ?? '').localeCompare(
          String((b.metadata as Json).namespace ?? ''),
        ) || String((a.metadata as Json).name).localeCompare(String((b.metadata as Json).name)),
    );
    const watch = req.query.get('watch');
    if (watch === 'true' || watch === '1') {
      this.watch(req, res, t, namespace, items, labelSelector, fieldSelector);
      return;
    }
    const limit = Number(req.query.get('limit') ?? 0);
    const start = Number(
      req.query.get('continue') ? Buffer.from(req.query.get('continue') as string, 'base64').toString() : 0,
    );
    let page = items.slice(start);
    let cont: string | undefined;
    if (limit > 0 && page.length > limit) {
      page = page.slice(0, limit);
      cont = Buffer.from(String(start + limit)).toString('base64');
    }
    // Built-in kinds' list items carry no apiVersion/kind on the wire; custom resources do.
    const builtin = CORE_TYPES.includes(t);
    this.send(res, 200, {
      kind: `${t.kind}List`,
      apiVersion: apiVersionOf(t),
      metadata: { resourceVersion: String(this.rv), ...(cont ? { continue: cont } : {}) },
      items: page.map((o) => {
        if (!builtin) return o;
        const { apiVersion: _a, kind: _k, ...rest } = o;
        return rest;
      }),
    });
  }

  private watch(
    req: RecordedRequest,
    res: ServerResponse,
    t: ResourceType,
    namespace: string | undefined,
    current: Json[],
    labelSelector?: string,
    fieldSelector?: string,
  ): void {
    res.writeHead(200, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
      'cache-control': 'no-cache, private',
    });
    const w: Watcher = { type: t, namespace, labelSelector, fieldSelector, res };
    const rvParam = req.query.get('resourceVersion');
    if (!rvParam || rvParam === '0') {
      for (const o of current) res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    } else {
      const from = Number(rvParam);
      if (from < this.historyStart - 1) {
        res.write(
          `${JSON.stringify({ type: 'ERROR', object: statusBody(410, 'Expired', `too old resource version: ${from} (${this.historyStart - 1})`) })}\n`,
        );
        res.end();
        return;
      }
      for (const ev of this.history) {
        if (ev.rv > from && this.watcherMatches(w, ev))
          res.write(`${JSON.stringify({ type: ev.type, object: ev.obj })}\n`);
      }
    }
    this.watchers.add(w);
    const timeout = Number(req.query.get('timeoutSeconds') ?? 1800);
    const timer = setTimeout(() => res.end(), timeout * 1000);
    this.timers.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      this.timers.delete(timer);
      this.watchers.delete(w);
    });
  }

  private podLog(req: RecordedRequest, res: ServerResponse, namespace: string, name: string): void {
    const pod = this.mustGet(this.typeFor('v1', 'Pod'), namespace, name).obj;
    const containers = (((pod.spec as Json | undefined)?.containers as Json[] | undefined) ?? []).map(
      (c) => c.name as string,
    );
    const initContainers = (((pod.spec as Json | undefined)?.initContainers as Json[] | undefined) ?? []).map(
      (c) => c.name as string,
    );
    let container = req.query.get('container');
    if (!container) {
      if (containers.length !== 1) {
        throw new HttpError(
          statusBody(
            400,
            'BadRequest',
            `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}] or one of the init containers: [${initContainers.join(' ')}]`,
          ),
        );
      }
      container = containers[0] as string;
    }
    if (![...containers, ...initContainers].includes(container)) {
      throw new HttpError(
        statusBody(400, 'BadRequest', `container ${container} is not valid for pod ${name}`),
      );
    }
    const previous = req.query.get('previous') === 'true';
    const text = this.logs.get(`${namespace}/${name}/${container}${previous ? '/previous' : ''}`);
    if (text === undefined) {
      if (previous)
        throw new HttpError(
          statusBody(
            400,
            'BadRequest',
            `previous terminated container "${container}" in pod "${name}" not found`,
          ),
        );
      throw new HttpError(
        statusBody(
          400,
          'BadRequest',
          `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`,
        ),
      );
    }
    let out = text;
    const tail = Number(req.query.get('tailLines') ?? 0);
    if (tail > 0) out = text.split('\n').filter(Boolean).slice(-tail).join('\n') + '\n';
    this.send(res, 200, out, 'text/plain');
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const u = new URL(req.url ?? '/', 'https://fake');
    this.requests.push({
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      contentType: '',
      body: '',
    });
    const refuse = (status: KubeStatusBody | { code: number; text: string }) => {
      const isStatus = 'kind' in status;
      const body = isStatus ? JSON.stringify(status) : status.text;
      const reason =
        { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status.code] ??
        'Error';
      socket.end(
        `HTTP/1.1 ${status.code} ${reason}\r\nContent-Type: ${isStatus ? 'application/json' : 'text/plain'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    if (!this.authorized(req)) {
      refuse(statusBody(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(u.pathname);
    if (!m) {
      refuse({ code: 404, text: '404 page not found\n' });
      return;
    }
    const namespace = decodeURIComponent(m[1] as string);
    const pod = decodeURIComponent(m[2] as string);
    const port = Number(u.searchParams.get('ports'));
    if (!this.store.has(this.key(this.typeFor('v1', 'Pod'), namespace, pod))) {
      refuse(statusBody(404, 'NotFound', `pods "${pod}" not found`, { name: pod, kind: 'pods' }));
      return;
    }
    const decision = this.portForward(namespace, pod, port);
    if ('refuse' in decision) {
      refuse(decision.refuse);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // The port-forward channel protocol: streams 0 (data) and 1 (error) each start with the port.
      const portBytes = [port & 0xff, (port >> 8) & 0xff];
      ws.send(Buffer.from([0, ...portBytes]));
      ws.send(Buffer.from([1, ...portBytes]));
      const tcp = netConnect(decision.accept.port, decision.accept.host);
      tcp.on('data', (d) => ws.send(Buffer.concat([Buffer.from([0]), d])));
      tcp.on('end', () => ws.close());
      tcp.on('error', (e) => {
        ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(e.message)]));
        ws.close();
      });
      ws.on('message', (data: Buffer) => {
        if (data[0] === 0 && data.length > 1) tcp.write(data.subarray(1));
      });
      ws.on('close', () => tcp.destroy());
    });
  }
}

// ---- object helpers (exported for tests that seed state) --------------------------------------

export function deployment(opts: {
  namespace: string;
  name: string;
  replicas?: number;
  available?: boolean;
  labels?: Record<string, string>;
  generation?: number;
  observedGeneration?: number;
  condition?: { status: string; reason: string; message: string };
}): Json {
  const replicas = opts.replicas ?? 1;
  const labels = opts.labels ?? { app: opts.name };
  const available = opts.available ?? true;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: opts.name, namespace: opts.namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: opts.name, image: `example/${opts.name}:1` }] },
      },
    },
    status: {
      observedGeneration: opts.observedGeneration ?? 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: available ? replicas : 0,
      availableReplicas: available ? replicas : 0,
      ...(available ? {} : { unavailableReplicas: replicas }),
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
              status: opts.condition?.status ?? 'False',
              reason: opts.condition?.reason ?? 'MinimumReplicasUnavailable',
              message: opts.condition?.message ?? 'Deployment does not have minimum availability.',
            },
      ],
    },
  };
}

export function daemonSet(opts: {
  namespace: string;
  name: string;
  desired?: number;
  available?: number;
  labels?: Record<string, string>;
}): Json {
  const desired = opts.desired ?? 1;
  const available = opts.available ?? desired;
  const labels = opts.labels ?? { app: opts.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: opts.name, namespace: opts.namespace, labels },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: opts.name, image: `example/${opts.name}:1` }] },
      },
    },
    status: {
      observedGeneration: 1,
      desiredNumberScheduled: desired,
      currentNumberScheduled: desired,
      updatedNumberScheduled: desired,
      numberReady: available,
      numberAvailable: available,
      ...(available < desired ? { numberUnavailable: desired - available } : {}),
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
      containerStatuses: containers.map((c) => {
        const st: Json = {
          name: c,
          image: `example/${c}:1`,
          ready: opts.waiting?.container !== c,
          restartCount:
            opts.waiting?.container === c || opts.terminated?.container === c ? (opts.restarts ?? 0) : 0,
        };
        if (opts.waiting?.container === c)
          st.state = { waiting: { reason: opts.waiting.reason, message: opts.waiting.message } };
        else st.state = { running: { startedAt: new Date().toISOString() } };
        if (opts.terminated?.container === c) {
          st.lastState = {
            terminated: {
              reason: opts.terminated.reason,
              exitCode: opts.terminated.exitCode,
              message: opts.terminated.message,
            },
          };
        }
        return st;
      }),
    },
  };
}

export function event(opts: {
  namespace: string;
  involved: { kind: string; name: string; apiVersion?: string; uid?: string };
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
  count?: number;
}): Json {
  const now = new Date().toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${opts.involved.name}.${Math.random().toString(16).slice(2, 10)}`,
      namespace: opts.namespace,
    },
    involvedObject: { ...opts.involved, namespace: opts.namespace },
    reason: opts.reason,
    message: opts.message,
    type: opts.type ?? 'Warning',
    count: opts.count ?? 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: 'kubelet' },
  };
}

export function namespace(name: string): Json {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } };
}

// ---- selector, field path and patch helpers ---------------------------------------------------

function getField(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[part];
  }
  return cur;
}

/** Kubernetes label selector: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`. */
export function matchesLabels(obj: Json, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels = ((obj.metadata as Json | undefined)?.labels ?? {}) as Record<string, string>;
  const reqs = selector.match(/([^,(]+(\([^)]*\))?)/g) ?? [];
  for (const raw of reqs) {
    const r = raw.trim();
    if (!r) continue;
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(r);
    const eq = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(r);
    const not = /^!(\S+)$/.exec(r);
    if (set) {
      const vals = (set[3] as string).split(',').map((s) => s.trim());
      const has = (set[1] as string) in labels && vals.includes(labels[set[1] as string] as string);
      if (set[2] === 'in' ? !has : has) return false;
    } else if (eq) {
      const v = labels[eq[1] as string];
      if (eq[2] === '!=' ? v === eq[3] : v !== eq[3]) return false;
    } else if (not) {
      if ((not[1] as string) in labels) return false;
    } else if (/^[A-Za-z0-9./_-]+$/.test(r)) {
      if (!(r in labels)) return false;
    } else {
      throw new Error(`unable to parse requirement: ${r}`);
    }
  }
  return true;
}

export function matchesFields(obj: Json, selector: string | undefined): boolean {
  if (!selector) return true;
  for (const part of selector.split(',')) {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(part.trim());
    if (!m) throw new Error(`invalid field selector: ${part}`);
    const v = getField(obj, m[1] as string);
    const s = v === undefined || v === null ? '' : String(v);
    if (m[2] === '!=' ? s === m[3] : s !== m[3]) return false;
  }
  return true;
}

const VOLATILE_META = ['resourceVersion', 'managedFields', 'generation', 'uid', 'creationTimestamp'];
function stripVolatile(o: Json): Json {
  const meta = { ...((o.metadata as Json) ?? {}) };
  for (const k of VOLATILE_META) delete meta[k];
  return { ...o, metadata: meta };
}

function specChanged(a: Json, b: Json): boolean {
  const strip = (o: Json) => {
    const { metadata: _m, status: _s, ...rest } = o;
    return JSON.stringify(rest);
  };
  return strip(a) !== strip(b);
}

/** Leaf field paths (dotted; lists are atomic leaves) of everything a client may own. */
function leafPaths(obj: Json, t: ResourceType): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, path: string) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, c] of Object.entries(v as Json)) walk(c, path ? `${path}.${k}` : k);
    } else out.set(path, v);
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && t.status) continue;
    if (k === 'metadata') {
      const meta = v as Json;
      for (const mk of ['labels', 'annotations']) if (meta?.[mk]) walk(meta[mk], `metadata.${mk}`);
      continue;
    }
    walk(v, k);
  }
  return out;
}

function fieldsV1(paths: string[]): Json {
  const root: Json = {};
  for (const p of paths) {
    let cur = root;
    for (const part of p.split('.')) {
      const k = `f:${part}`;
      cur[k] = (cur[k] as Json) ?? {};
      cur = cur[k] as Json;
    }
  }
  return root;
}

function setPath(obj: Json, path: string, value: unknown): Json {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (!cur[p] || typeof cur[p] !== 'object' || Array.isArray(cur[p])) cur[p] = {};
    cur = cur[p] as Json;
  }
  cur[parts[parts.length - 1] as string] = structuredClone(value);
  return obj;
}

function deletePath(obj: Json, path: string): Json {
  const parts = path.split('.');
  const stack: Json[] = [obj];
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (!cur[p] || typeof cur[p] !== 'object') return obj;
    cur = cur[p] as Json;
    stack.push(cur);
  }
  delete cur[parts[parts.length - 1] as string];
  // Prune maps the removal left empty.
  for (let i = stack.length - 1; i > 0; i--) {
    const parent = stack[i - 1] as Json;
    const key = parts[i - 1] as string;
    if (Object.keys(stack[i] as Json).length === 0) delete parent[key];
  }
  return obj;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Json =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface JsonOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`invalid JSON pointer ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyJsonPatch(doc: Json, ops: JsonOp[]): Json {
  if (!Array.isArray(ops)) throw new Error('a JSON patch must be an array of operations');
  const resolveParent = (path: string): [unknown, string] => {
    const parts = pointer(path);
    let cur: unknown = doc;
    for (const p of parts.slice(0, -1)) {
      cur = Array.isArray(cur) ? cur[Number(p)] : (cur as Json | undefined)?.[p];
      if (cur === undefined) throw new Error(`doc is missing path: ${path}`);
    }
    return [cur, parts[parts.length - 1] as string];
  };
  const read = (path: string): unknown => {
    let cur: unknown = doc;
    for (const p of pointer(path)) {
      cur = Array.isArray(cur) ? cur[Number(p)] : (cur as Json | undefined)?.[p];
      if (cur === undefined) throw new Error(`doc is missing path: ${path}`);
    }
    return cur;
  };
  for (const op of ops) {
    switch (op.op) {
      case 'test':
        if (JSON.stringify(read(op.path)) !== JSON.stringify(op.value)) {
          throw new Error(`testing value ${op.path} failed: test failed`);
        }
        break;
      case 'replace': {
        read(op.path);
        const [parent, key] = resolveParent(op.path);
        if (Array.isArray(parent)) parent[Number(key)] = op.value;
        else (parent as Json)[key] = op.value;
        break;
      }
      case 'add': {
        const [parent, key] = resolveParent(op.path);
        if (Array.isArray(parent)) {
          if (key === '-') parent.push(op.value);
          else parent.splice(Number(key), 0, op.value);
        } else (parent as Json)[key] = op.value;
        break;
      }
      case 'remove': {
        read(op.path);
        const [parent, key] = resolveParent(op.path);
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete (parent as Json)[key];
        break;
      }
      default:
        throw new Error(`unsupported JSON patch operation ${op.op}`);
    }
  }
  return doc;
}
