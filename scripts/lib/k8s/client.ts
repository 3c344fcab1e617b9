// The harness's Kubernetes client: built from the harness's OWN kubeconfig file (never the
// user's default context), speaking plain JSON for every kind. It rides on client-node's
// KubernetesObjectApi for auth, TLS, discovery and URL building, but sends and returns wire
// JSON itself: client-node's typed (de)serializer silently drops fields its model does not
// know, which would corrupt CRDs and newer fields in server-side apply.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type ResponseContext,
} from '@kubernetes/client-node';
import { KubeApiError, toKubeError } from './errors.ts';
import {
  describeRef,
  findCondition,
  formatCondition,
  type KubeObject,
  type KubeRef,
  refKey,
  refOf,
} from './types.ts';
import { type Pending, waitFor } from './wait.ts';

/** The field manager every apply of the harness uses (server-side apply ownership). */
export const FIELD_MANAGER = 'direktiv-tls-e2e';

export interface ApiResourceInfo {
  /** `apps/v1`, `v1`, `cert-manager.io/v1`. */
  apiVersion: string;
  kind: string;
  /** The plural resource name (`deployments`). */
  name: string;
  namespaced: boolean;
  verbs: string[];
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: unknown;
  from?: string;
}

type Query = Record<string, string | number | boolean | undefined>;

/** client-node's object API, answering raw JSON (or text) and exposing its path building. */
class WireObjectApi extends KubernetesObjectApi {
  async pathFor(
    ref: KubeRef | { apiVersion: string; kind: string; namespace?: string },
    action: 'list' | 'read',
  ) {
    const spec: KubernetesObject = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { namespace: ref.namespace, name: 'name' in ref ? ref.name : undefined },
    };
    return this.specUriPath(spec, action);
  }

  async createPath(obj: KubeObject): Promise<string> {
    return this.specUriPath(
      {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        metadata: { namespace: obj.metadata.namespace, name: obj.metadata.name },
      },
      'create',
    );
  }

  async resourceInfo(apiVersion: string, kind: string) {
    return this.resource(apiVersion, kind);
  }

  async call(
    method: HttpMethod,
    path: string,
    opts: { query?: Query; body?: string; contentType?: string; timeoutMs?: number } = {},
  ): Promise<unknown> {
    const ctx = this.configuration.baseServer.makeRequestContext(path, method);
    ctx.setHeaderParam('Accept', 'application/json, */*;q=0.8');
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) ctx.setQueryParam(k, String(v));
    }
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(opts.body);
    }
    // A hung API server must not hang a gate past its deadline.
    const timeoutMs = opts.timeoutMs ?? 30_000;
    ctx.setSignal(AbortSignal.timeout(timeoutMs));
    try {
      return await (this.requestPromise(ctx) as Promise<unknown>);
    } catch (e) {
      if ((e as { name?: string }).name === 'AbortError') {
        throw Object.assign(new Error(`no answer from the API server within ${timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        });
      }
      throw e;
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: overrides client-node's generic signature
  protected override async processResponse(response: ResponseContext): Promise<any> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
      const ct = String(response.headers['content-type'] ?? '');
      if (ct.includes('json')) return text ? JSON.parse(text) : {};
      return text;
    }
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', text, response.headers);
  }
}

/** Remembers what the run created, so diagnostics and cleanup can find it later. */
export class ObjectTracker {
  private readonly objects = new Map<string, KubeRef>();
  private readonly ns = new Set<string>();
  record(ref: KubeRef): void {
    this.objects.set(refKey(ref), { ...ref });
    if (ref.namespace) this.ns.add(ref.namespace);
    if (ref.kind === 'Namespace' && ref.apiVersion === 'v1') this.ns.add(ref.name);
  }
  /** For namespaces filled by Helm or by controllers, which the harness did not apply itself. */
  touchNamespace(namespace: string): void {
    this.ns.add(namespace);
  }
  refs(): KubeRef[] {
    return [...this.objects.values()];
  }
  namespaces(): string[] {
    return [...this.ns].sort();
  }
}

export interface KubeClientOptions {
  /** Context to use; default: the file's current-context. */
  context?: string;
  /** Fail unless the context has this name (e.g. `kind-direktiv-tls-e2e`). */
  expectContext?: string;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
}

/** Order in which kinds must exist before others can be applied (as Helm orders installs). */
const APPLY_ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'ClusterIssuer',
  'Issuer',
  'Certificate',
];

export interface ApplyOptions {
  fieldManager?: string;
  /** Take over fields owned by other managers (default true, as `kubectl apply --server-side --force-conflicts`). */
  force?: boolean;
  dryRun?: boolean;
  /** applyAll: how long to wait for applied CRDs to be Established; default 60 s. */
  crdTimeoutMs?: number;
}

export class KubeClient {
  readonly kc: KubeConfig;
  readonly kubeconfigPath: string;
  readonly contextName: string;
  readonly server: string;
  readonly tracker = new ObjectTracker();
  private readonly api: WireObjectApi;
  private readonly timeoutMs: number;

  private constructor(kc: KubeConfig, path: string, timeoutMs: number) {
    this.kc = kc;
    this.kubeconfigPath = path;
    this.contextName = kc.getCurrentContext();
    this.server = kc.getCurrentCluster()?.server ?? '';
    this.timeoutMs = timeoutMs;
    const api = kc.makeApiClient(WireObjectApi);
    (api as unknown as { setDefaultNamespace(k: KubeConfig): string }).setDefaultNamespace(kc);
    this.api = api;
  }

  /**
   * Builds a client from the harness's own kubeconfig file. Refuses the user's default
   * kubeconfig: the harness must never act on a cluster it did not create.
   */
  static fromKubeconfig(path: string, opts: KubeClientOptions = {}): KubeClient {
    if (!path) {
      throw new Error(
        'no kubeconfig path given: the harness writes its own kubeconfig when it creates the kind cluster and uses only that file',
      );
    }
    const abs = resolve(path);
    if (!existsSync(abs) || !statSync(abs).isFile()) {
      throw new Error(
        `kubeconfig ${abs} does not exist: create the cluster first (the harness writes this file with 'kind create cluster --kubeconfig ${abs}')`,
      );
    }
    const userDefault = resolve(homedir(), '.kube', 'config');
    if (existsSync(userDefault) && realpathSync(abs) === realpathSync(userDefault)) {
      throw new Error(
        `refusing to use ${abs}: it is the user's default kubeconfig. The harness acts only on the cluster it created, through its own kubeconfig file`,
      );
    }
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(abs);
    } catch (e) {
      throw new Error(`kubeconfig ${abs} cannot be read: ${(e as Error).message}`);
    }
    if (opts.context) {
      if (!kc.getContextObject(opts.context)) {
        throw new Error(
          `kubeconfig ${abs} has no context '${opts.context}' (it has: ${kc
            .getContexts()
            .map((c) => c.name)
            .join(', ')})`,
        );
      }
      kc.setCurrentContext(opts.context);
    }
    const ctx = kc.getCurrentContext();
    if (!ctx || !kc.getContextObject(ctx)) {
      throw new Error(`kubeconfig ${abs} has no current-context; regenerate it with kind get kubeconfig`);
    }
    if (opts.expectContext && ctx !== opts.expectContext) {
      throw new Error(
        `kubeconfig ${abs} points at context '${ctx}', not '${opts.expectContext}': refusing to act on another cluster`,
      );
    }
    if (!kc.getCurrentCluster()?.server) {
      throw new Error(`kubeconfig ${abs}: context '${ctx}' has no cluster server URL`);
    }
    return new KubeClient(kc, abs, opts.requestTimeoutMs ?? 30_000);
  }

  private fail(e: unknown, operation: string): never {
    throw toKubeError(e, operation, this.server);
  }

  /** Server-side apply of one object (PATCH application/apply-patch+yaml, fieldManager, force). */
  async apply(obj: KubeObject, opts: ApplyOptions = {}): Promise<KubeObject> {
    const op = `${opts.dryRun ? 'dry-run apply' : 'apply'} ${describeRef(refOf(obj))}`;
    if (!obj.metadata?.name) throw new Error(`${op}: metadata.name is required for server-side apply`);
    try {
      const path = await this.api.pathFor(refOf(obj), 'read');
      // Strip server-owned metadata so that a read-modify-apply never asserts them.
      const { resourceVersion: _rv, uid: _uid, managedFields: _mf, ...metadata } = obj.metadata;
      const body = JSON.stringify({ ...obj, metadata });
      const out = (await this.api.call(HttpMethod.PATCH, path, {
        query: {
          fieldManager: opts.fieldManager ?? FIELD_MANAGER,
          force: opts.force ?? true,
          dryRun: opts.dryRun ? 'All' : undefined,
        },
        body,
        // JSON is YAML: the apply content type accepts it.
        contentType: PatchStrategy.ServerSideApply,
        timeoutMs: this.timeoutMs,
      })) as KubeObject;
      if (!opts.dryRun) this.tracker.record(refOf(out));
      return out;
    } catch (e) {
      this.fail(e, op);
    }
  }

  /** Applies objects in dependency order (namespaces and CRDs first), stopping at the first error. */
  async applyAll(objects: readonly KubeObject[], opts: ApplyOptions = {}): Promise<KubeObject[]> {
    const rank = (k: string) => {
      const i = APPLY_ORDER.indexOf(k);
      return i < 0 ? APPLY_ORDER.length : i;
    };
    const ordered = objects
      .map((o, i) => ({ o, i }))
      .sort((a, b) => rank(a.o.kind) - rank(b.o.kind) || a.i - b.i)
      .map((x) => x.o);
    const out: KubeObject[] = [];
    const crds: string[] = [];
    for (const o of ordered) {
      if (crds.length && o.kind !== 'CustomResourceDefinition' && !opts.dryRun) {
        // Objects of a just-created CRD's kinds are refused until the CRD is Established.
        await this.waitForCrdsEstablished(crds, opts.crdTimeoutMs ?? 60_000);
        crds.length = 0;
      }
      const applied = await this.apply(o, opts);
      if (o.kind === 'CustomResourceDefinition') crds.push(applied.metadata.name ?? '');
      out.push(applied);
    }
    return out;
  }

  /** Waits until each named CRD reports Established=True (its kinds are served). */
  async waitForCrdsEstablished(names: readonly string[], timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `${names.length} CustomResourceDefinition(s) Established`,
      async () => {
        const pending: Pending[] = [];
        for (const name of names) {
          const ref: KubeRef = {
            apiVersion: 'apiextensions.k8s.io/v1',
            kind: 'CustomResourceDefinition',
            name,
          };
          const crd = await this.getOrNull(ref);
          const est = findCondition(crd ?? undefined, 'Established');
          if (est?.status !== 'True') {
            pending.push({
              object: describeRef(ref),
              why: crd ? formatCondition(est, 'Established') : 'not found',
              ref,
            });
          }
        }
        return { ready: pending.length === 0, pending };
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /**
   * Deletes objects in reverse order (what was created last goes first), continuing past
   * failures; throws one error naming every object that could not be deleted.
   */
  async deleteAll(
    refs: readonly KubeRef[],
    opts: { propagationPolicy?: 'Foreground' | 'Background' } = {},
  ): Promise<string[]> {
    const deleted: string[] = [];
    const failed: string[] = [];
    for (const ref of [...refs].reverse()) {
      try {
        if (await this.delete(ref, { propagationPolicy: opts.propagationPolicy }))
          deleted.push(describeRef(ref));
      } catch (e) {
        failed.push((e as Error).message);
      }
    }
    if (failed.length) {
      throw new Error(
        `teardown: ${failed.length} object(s) could not be deleted:\n${failed.map((f) => `  - ${f}`).join('\n')}`,
      );
    }
    return deleted;
  }

  /** POST create; with `dryRun` the server runs admission (webhooks included) and stores nothing. */
  async create(obj: KubeObject, opts: { dryRun?: boolean; fieldManager?: string } = {}): Promise<KubeObject> {
    const name = obj.metadata.name ?? `${obj.metadata.generateName ?? ''}*`;
    const op = `${opts.dryRun ? 'dry-run create' : 'create'} ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${name}`;
    try {
      const path = await this.api.createPath(obj);
      const out = (await this.api.call(HttpMethod.POST, path, {
        query: { dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager ?? FIELD_MANAGER },
        body: JSON.stringify(obj),
        timeoutMs: this.timeoutMs,
      })) as KubeObject;
      if (!opts.dryRun) this.tracker.record(refOf(out));
      return out;
    } catch (e) {
      this.fail(e, op);
    }
  }

  async get(ref: KubeRef): Promise<KubeObject> {
    try {
      const path = await this.api.pathFor(ref, 'read');
      return (await this.api.call(HttpMethod.GET, path, { timeoutMs: this.timeoutMs })) as KubeObject;
    } catch (e) {
      this.fail(e, `get ${describeRef(ref)}`);
    }
  }

  /** Like get, but answers null for NotFound (a normal state while waiting for an object). */
  async getOrNull(ref: KubeRef): Promise<KubeObject | null> {
    try {
      return await this.get(ref);
    } catch (e) {
      if (e instanceof KubeApiError && e.reason === 'NotFound') return null;
      throw e;
    }
  }

  /** Lists objects of one kind, all pages; without `namespace`, across all namespaces. */
  async list(
    apiVersion: string,
    kind: string,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<KubeObject[]> {
    const where = opts.namespace ? ` in namespace ${opts.namespace}` : '';
    const sel = [opts.labelSelector, opts.fieldSelector].filter(Boolean).join(', ');
    const op = `list ${kind}${where}${sel ? ` (${sel})` : ''}`;
    try {
      const path = await this.api.pathFor({ apiVersion, kind, namespace: opts.namespace }, 'list');
      const items: KubeObject[] = [];
      let cont: string | undefined;
      do {
        const page = (await this.api.call(HttpMethod.GET, path, {
          query: {
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
            limit: 500,
            continue: cont,
          },
          timeoutMs: this.timeoutMs,
        })) as { items?: KubeObject[]; metadata?: { continue?: string } };
        // List items omit apiVersion/kind on the wire; restore them so items are self-describing.
        for (const it of page.items ?? []) items.push({ ...it, apiVersion, kind });
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return items;
    } catch (e) {
      this.fail(e, op);
    }
  }

  /** Deletes one object. Answers false when it did not exist (and `ignoreNotFound`, the default). */
  async delete(
    ref: KubeRef,
    opts: {
      ignoreNotFound?: boolean;
      propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
      gracePeriodSeconds?: number;
    } = {},
  ): Promise<boolean> {
    try {
      const path = await this.api.pathFor(ref, 'read');
      await this.api.call(HttpMethod.DELETE, path, {
        query: {
          propagationPolicy: opts.propagationPolicy ?? 'Background',
          gracePeriodSeconds: opts.gracePeriodSeconds,
        },
        timeoutMs: this.timeoutMs,
      });
      return true;
    } catch (e) {
      const err = toKubeError(e, `delete ${describeRef(ref)}`, this.server);
      if (err.reason === 'NotFound' && (opts.ignoreNotFound ?? true)) return false;
      throw err;
    }
  }

  /** RFC 6902 JSON patch; put `test` ops first to guard against patching the wrong element. */
  jsonPatch(ref: KubeRef, ops: readonly JsonPatchOp[]): Promise<KubeObject> {
    return this.patch(ref, ops, PatchStrategy.JsonPatch);
  }

  /** RFC 7386 merge patch. */
  mergePatch(ref: KubeRef, patch: Record<string, unknown>): Promise<KubeObject> {
    return this.patch(ref, patch, PatchStrategy.MergePatch);
  }

  private async patch(ref: KubeRef, body: unknown, contentType: PatchStrategy): Promise<KubeObject> {
    try {
      const path = await this.api.pathFor(ref, 'read');
      return (await this.api.call(HttpMethod.PATCH, path, {
        body: JSON.stringify(body),
        contentType,
        query: { fieldManager: FIELD_MANAGER },
        timeoutMs: this.timeoutMs,
      })) as KubeObject;
    } catch (e) {
      this.fail(e, `patch ${describeRef(ref)}`);
    }
  }

  /** A container's log (or its previous instance's with `previous`). */
  async podLogs(
    namespace: string,
    pod: string,
    container: string,
    opts: { previous?: boolean; tailLines?: number; limitBytes?: number } = {},
  ): Promise<string> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`;
    try {
      const out = await this.api.call(HttpMethod.GET, path, {
        query: {
          container,
          previous: opts.previous ? true : undefined,
          tailLines: opts.tailLines,
          limitBytes: opts.limitBytes,
        },
        timeoutMs: this.timeoutMs,
      });
      return typeof out === 'string' ? out : JSON.stringify(out);
    } catch (e) {
      this.fail(
        e,
        `read ${opts.previous ? 'previous ' : ''}log of pod ${namespace}/${pod} container ${container}`,
      );
    }
  }

  /** Whether a kind exists on the server and is namespaced (undefined: not served). */
  async resourceInfo(apiVersion: string, kind: string): Promise<ApiResourceInfo | undefined> {
    try {
      const r = await this.api.resourceInfo(apiVersion, kind);
      if (!r) return undefined;
      return { apiVersion, kind: r.kind, name: r.name, namespaced: r.namespaced, verbs: r.verbs ?? [] };
    } catch (e) {
      const err = toKubeError(e, `discover ${apiVersion} ${kind}`, this.server);
      if (err.reason === 'NotFound' || err.reason === 'NoKindMatch') return undefined;
      throw err;
    }
  }

  /** Every listable resource the server serves (preferred versions), for the diagnostics sweep. */
  async discoverResources(): Promise<ApiResourceInfo[]> {
    const out: ApiResourceInfo[] = [];
    try {
      const versions: string[] = [];
      const core = (await this.api.call(HttpMethod.GET, '/api', { timeoutMs: this.timeoutMs })) as {
        versions?: string[];
      };
      versions.push(...(core.versions ?? ['v1']));
      const groups = (await this.api.call(HttpMethod.GET, '/apis', { timeoutMs: this.timeoutMs })) as {
        groups?: { preferredVersion?: { groupVersion: string } }[];
      };
      for (const g of groups.groups ?? []) {
        if (g.preferredVersion?.groupVersion) versions.push(g.preferredVersion.groupVersion);
      }
      for (const gv of versions) {
        const path = gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`;
        let list: { resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[] };
        try {
          list = (await this.api.call(HttpMethod.GET, path, { timeoutMs: this.timeoutMs })) as typeof list;
        } catch {
          // An aggregated API that is down (metrics-server) must not stop the sweep.
          continue;
        }
        for (const r of list.resources ?? []) {
          if (r.name.includes('/')) continue; // subresources
          out.push({
            apiVersion: gv,
            kind: r.kind,
            name: r.name,
            namespaced: r.namespaced,
            verbs: r.verbs ?? [],
          });
        }
      }
      return out;
    } catch (e) {
      this.fail(e, 'discover API resources');
    }
  }

  /** The URL path of a collection (for watch) or one object, resolved through discovery. */
  async resourcePath(
    ref: KubeRef | { apiVersion: string; kind: string; namespace?: string },
  ): Promise<string> {
    const action = 'name' in ref && ref.name ? 'read' : 'list';
    try {
      return await this.api.pathFor(ref, action);
    } catch (e) {
      this.fail(e, `resolve the API path of ${ref.kind} (${ref.apiVersion})`);
    }
  }

  /** Raw GET for paths the object API does not model (`/version`, `/readyz`). */
  async rawGet(path: string): Promise<unknown> {
    try {
      return await this.api.call(HttpMethod.GET, path, { timeoutMs: this.timeoutMs });
    } catch (e) {
      this.fail(e, `GET ${path}`);
    }
  }
}
