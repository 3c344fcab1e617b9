// A client of Direktiv v0.4.1's HTTP API exactly as /work/shared/direktiv-v0.4-api.md describes
// it (checked against v0.4.1:pkg/api/server.go, workflow.go, functions.go, error.go):
//  - routes matched exactly, trailing slashes included (gorilla mux without StrictSlash);
//  - workflow create/update with Content-Type exactly `text/yaml` (anything else is a 500);
//  - errors as {"Code": <gRPC code>, "Message": ...}; "engine not reachable yet" is HTTP 400
//    with Code 14 (Unavailable) and is retried during startup;
//  - execute ?wait=true answers 200 even when the workflow failed: the failure is only in the
//    Direktiv_ErrorCode / Direktiv_ErrorMsg headers (any case; proxies lowercase them);
//  - protobuf `bytes` fields (workflow, input, output) are base64 in JSON.
import { type Pending, waitFor } from '../k8s/wait.ts';
import { type HttpResponse, sendHttp, type TlsOptions } from './http.ts';

export interface DirektivApiOptions {
  /** e.g. `https://127.0.0.1:8443` (kind port mapping to the ingress) or `http://127.0.0.1:<port-forward>`. */
  baseUrl: string;
  /** When the ingress (or the API) serves TLS: the profile's CA and the name its certificate carries. */
  tls?: TlsOptions;
  /** Host header (Ingress routing); default: tls.servername when given. */
  host?: string;
  /** Per request; default 30 s. Execute with wait uses `executeTimeoutMs`. */
  requestTimeoutMs?: number;
  /** How long to keep retrying "engine unavailable" answers of one call; default 120 s. */
  unavailableRetryMs?: number;
  /** Pause between such retries; default 2 s. */
  retryIntervalMs?: number;
  /** One line per retry, for progress output. */
  onRetry?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ApiCall {
  method: string;
  path: string;
  status: number;
  attempts: number;
  durationMs: number;
}

/** The API answered with an error status ({"Code","Message"} when it came from Direktiv). */
export class DirektivApiError extends Error {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The gRPC code Direktiv reported (14 Unavailable, 6 AlreadyExists, 50 generic, ...). */
  readonly code: number | undefined;
  readonly apiMessage: string;
  constructor(method: string, path: string, res: HttpResponse, hint = '') {
    const parsed = parseErr(res.body);
    const apiMessage = parsed?.Message ?? (res.body.trim().slice(0, 300) || '(empty body)');
    super(
      `${method} ${path} answered HTTP ${res.status}${parsed?.Code !== undefined ? ` (Code ${parsed.Code})` : ''}: ${apiMessage}${hint ? `. ${hint}` : ''}`,
    );
    this.name = 'DirektivApiError';
    this.method = method;
    this.path = path;
    this.status = res.status;
    this.code = parsed?.Code;
    this.apiMessage = apiMessage;
  }
}

/** A workflow ran and failed: HTTP 200 with the Direktiv_ErrorCode / Direktiv_ErrorMsg headers. */
export class DirektivExecutionError extends Error {
  readonly instanceId: string | undefined;
  readonly errorCode: string;
  readonly errorMessage: string;
  constructor(
    namespace: string,
    workflow: string,
    instanceId: string | undefined,
    errorCode: string,
    errorMessage: string,
  ) {
    super(
      `workflow ${namespace}/${workflow} failed${instanceId ? ` (instance ${instanceId})` : ''}: ${errorCode}: ${errorMessage || '(no message)'}` +
        (errorCode === 'direktiv.internal.error'
          ? '. The engine crashed the instance; the real cause is in the instance logs (and the flow pod log)'
          : ''),
    );
    this.name = 'DirektivExecutionError';
    this.instanceId = instanceId;
    this.errorCode = errorCode;
    this.errorMessage = errorMessage;
  }
}

function parseErr(body: string): { Code?: number; Message?: string } | undefined {
  try {
    const v = JSON.parse(body) as { Code?: unknown; Message?: unknown };
    if (v && typeof v === 'object' && ('Code' in v || 'Message' in v)) {
      return {
        Code: typeof v.Code === 'number' ? v.Code : undefined,
        Message: typeof v.Message === 'string' ? v.Message : undefined,
      };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** A header by name, case-insensitively and treating `-` and `_` alike (Go and Envoy rewrite them). */
export function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
  const want = name.toLowerCase().replace(/-/g, '_');
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase().replace(/-/g, '_') === want) return Array.isArray(v) ? v.join(', ') : v;
  }
  return undefined;
}

/** `^(([a-z][a-z0-9_\-]*[a-z0-9])|([a-z]))$` (pkg/util/regex.go): namespaces, workflow, state and function ids. */
export const DIREKTIV_ID = /^(([a-z][a-z0-9_-]*[a-z0-9])|([a-z]))$/;

export function checkDirektivId(what: string, id: string): string {
  if (!DIREKTIV_ID.test(id)) {
    throw new Error(
      `invalid ${what} '${id}': Direktiv v0.4.1 ids must match ${DIREKTIV_ID.source} (lower-case letter first, then letters, digits, '-' or '_', not ending in '-' or '_')`,
    );
  }
  return id;
}

export interface WorkflowInfo {
  id: string;
  revision?: number;
  active?: boolean;
  createdAt?: { seconds?: number; nanos?: number };
}

export interface FunctionStatus {
  info: { workflow: string; name: string; namespace: string; image: string; cmd: string };
  serviceName: string;
  /** The Knative Ready condition: "True", "False" or "Unknown". */
  status: string;
  conditions: { name?: string; status?: string; reason?: string; message?: string }[] | null;
}

export interface InstanceInfo {
  id: string;
  status: 'pending' | 'complete' | 'failed' | 'crashed' | string;
  flow: string[];
  errorCode?: string;
  errorMessage?: string;
  /** Decoded from base64 and parsed as JSON when it is JSON. */
  input: unknown;
  output: unknown;
  raw: Record<string, unknown>;
}

export interface ExecuteResult {
  instanceId: string | undefined;
  /** The final state data (parsed JSON when it is JSON). */
  output: unknown;
  body: string;
  durationMs: number;
}

export interface LogLine {
  timestamp?: { seconds?: number; nanos?: number };
  message: string;
}

function decodeB64Json(v: unknown): unknown {
  if (typeof v !== 'string' || v === '') return v ?? null;
  const text = Buffer.from(v, 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parseJsonOrText(body: string): unknown {
  try {
    return body ? JSON.parse(body) : null;
  } catch {
    return body;
  }
}

const seg = (s: string) => encodeURIComponent(s);

interface CallOptions {
  body?: string;
  contentType?: string;
  query?: Record<string, string>;
  /** Statuses that are answers, not errors (e.g. 409 for "already exists"). */
  accept?: number[];
  timeoutMs?: number;
  /** Retry on connection errors and Envoy 503 too (only for calls safe to repeat). */
  idempotent?: boolean;
}

export class DirektivApi {
  readonly calls: ApiCall[] = [];
  private readonly base: URL;
  private readonly opts: DirektivApiOptions;

  constructor(opts: DirektivApiOptions) {
    this.base = new URL(opts.baseUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new Error(`Direktiv API base URL must be http:// or https://, not ${opts.baseUrl}`);
    }
    if (this.base.protocol === 'https:' && !opts.tls) {
      throw new Error(
        `${opts.baseUrl} is https but no CA was given: pass tls.ca (the profile's CA) and tls.servername (the name on its certificate)`,
      );
    }
    this.opts = opts;
  }

  private async call(method: string, path: string, o: CallOptions = {}): Promise<HttpResponse> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
    const shown = `${path}${url.search}`;
    const headers: Record<string, string> = {};
    const host = this.opts.host ?? this.opts.tls?.servername;
    if (host) headers.Host = host;
    // Exactly as given: the API compares Content-Type byte for byte.
    if (o.contentType) headers['Content-Type'] = o.contentType;
    const started = Date.now();
    const retryUntil = started + (this.opts.unavailableRetryMs ?? 120_000);
    const interval = this.opts.retryIntervalMs ?? 2000;
    let attempts = 0;
    for (;;) {
      attempts++;
      let res: HttpResponse | undefined;
      let why: string;
      try {
        res = await sendHttp({
          method,
          url,
          headers,
          body: o.body,
          tls: this.opts.tls,
          timeoutMs: o.timeoutMs ?? this.opts.requestTimeoutMs ?? 30_000,
          signal: this.opts.signal,
        });
        if (res.status < 400 || o.accept?.includes(res.status)) {
          this.calls.push({
            method,
            path: shown,
            status: res.status,
            attempts,
            durationMs: Date.now() - started,
          });
          return res;
        }
        const err = parseErr(res.body);
        if (res.status === 400 && err?.Code === 14)
          why = `engine unavailable (400 Code 14: ${err.Message ?? ''})`;
        else if (o.idempotent && res.status === 503)
          why = `ingress has no ready upstream (503: ${res.body.trim().slice(0, 120)})`;
        else {
          this.calls.push({
            method,
            path: shown,
            status: res.status,
            attempts,
            durationMs: Date.now() - started,
          });
          throw new DirektivApiError(method, shown, res, hintFor(res));
        }
      } catch (e) {
        if (e instanceof DirektivApiError) throw e;
        const code = (e as { code?: string }).code;
        const tlsProblem = /certificate|self.signed|altname|SSL|TLS|wrong version/i.test(
          `${code} ${(e as Error).message}`,
        );
        if (tlsProblem) {
          throw new Error(
            `${method} ${shown}: TLS handshake with ${this.base.host} failed: ${(e as Error).message}. The API's certificate must chain to the given CA and name ${this.opts.tls?.servername ?? this.base.hostname}`,
            { cause: e },
          );
        }
        if (!(o.idempotent && (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE'))) {
          throw new Error(`${method} ${shown} failed: ${(e as Error).message}`, { cause: e });
        }
        why = `connection failed (${code})`;
      }
      if (Date.now() + interval > retryUntil) {
        this.calls.push({
          method,
          path: shown,
          status: res?.status ?? 0,
          attempts,
          durationMs: Date.now() - started,
        });
        throw new Error(
          `${method} ${shown}: still failing after ${attempts} attempts over ${Math.round((Date.now() - started) / 1000)} s: ${why}. The Direktiv engine (flow pod) is not reachable from the API: check the direktiv Deployment and its logs`,
        );
      }
      this.opts.onRetry?.(`${method} ${shown}: ${why}; retrying (attempt ${attempts})`);
      await new Promise((r) => setTimeout(r, interval));
    }
  }

  private json<T>(res: HttpResponse, what: string): T {
    try {
      return JSON.parse(res.body) as T;
    } catch {
      throw new Error(
        `${what}: the API answered ${res.status} with a body that is not JSON: ${res.body.slice(0, 200)}`,
      );
    }
  }

  /** GET /api/healthz: the API process answers (it checks nothing behind it). */
  async healthz(): Promise<void> {
    await this.call('GET', '/api/healthz', { idempotent: true });
  }

  /** GET /api/namespaces/ (trailing slash): goes API -> engine :6666, so it proves the engine is up. */
  async listNamespaces(): Promise<string[]> {
    const res = await this.call('GET', '/api/namespaces/', { idempotent: true });
    const v = this.json<{ namespaces?: { name: string }[] }>(res, 'list namespaces');
    return (v.namespaces ?? []).map((n) => n.name);
  }

  /** POST /api/namespaces/{ns}: created, or already there (409). */
  async createNamespace(namespace: string): Promise<'created' | 'exists'> {
    checkDirektivId('namespace', namespace);
    const res = await this.call('POST', `/api/namespaces/${seg(namespace)}`, { accept: [409] });
    return res.status === 409 ? 'exists' : 'created';
  }

  async deleteNamespace(namespace: string): Promise<void> {
    await this.call('DELETE', `/api/namespaces/${seg(namespace)}`, { accept: [404] });
  }

  /** POST /api/namespaces/{ns}/workflows with Content-Type exactly text/yaml. */
  async createWorkflow(namespace: string, yaml: string): Promise<WorkflowInfo> {
    const res = await this.call('POST', `/api/namespaces/${seg(namespace)}/workflows`, {
      body: yaml,
      contentType: 'text/yaml',
    });
    return this.json<WorkflowInfo>(res, 'create workflow');
  }

  /** PUT /api/namespaces/{ns}/workflows/{wf} with Content-Type exactly text/yaml. */
  async updateWorkflow(namespace: string, workflow: string, yaml: string): Promise<WorkflowInfo> {
    const res = await this.call('PUT', `/api/namespaces/${seg(namespace)}/workflows/${seg(workflow)}`, {
      body: yaml,
      contentType: 'text/yaml',
    });
    return this.json<WorkflowInfo>(res, 'update workflow');
  }

  /** Create; on 409 (the id exists) update instead. */
  async upsertWorkflow(
    namespace: string,
    workflow: string,
    yaml: string,
  ): Promise<{ action: 'created' | 'updated'; info: WorkflowInfo }> {
    try {
      return { action: 'created', info: await this.createWorkflow(namespace, yaml) };
    } catch (e) {
      if (e instanceof DirektivApiError && e.status === 409) {
        return { action: 'updated', info: await this.updateWorkflow(namespace, workflow, yaml) };
      }
      throw e;
    }
  }

  /** GET .../workflows/{wf}; the YAML comes back base64-encoded and is decoded here. */
  async getWorkflow(namespace: string, workflow: string): Promise<WorkflowInfo & { yaml: string }> {
    const res = await this.call('GET', `/api/namespaces/${seg(namespace)}/workflows/${seg(workflow)}`, {
      idempotent: true,
    });
    const v = this.json<WorkflowInfo & { workflow?: string }>(res, 'get workflow');
    return { ...v, yaml: v.workflow ? Buffer.from(v.workflow, 'base64').toString('utf8') : '' };
  }

  async deleteWorkflow(namespace: string, workflow: string): Promise<void> {
    await this.call('DELETE', `/api/namespaces/${seg(namespace)}/workflows/${seg(workflow)}`, {
      accept: [404],
    });
  }

  /** GET .../workflows/{wf}/functions (no trailing slash): API -> engine and API -> functions :5555. */
  async workflowFunctions(namespace: string, workflow: string): Promise<FunctionStatus[]> {
    const res = await this.call(
      'GET',
      `/api/namespaces/${seg(namespace)}/workflows/${seg(workflow)}/functions`,
      {
        idempotent: true,
      },
    );
    return this.json<FunctionStatus[]>(res, 'workflow functions') ?? [];
  }

  /** Polls the workflow's functions until `fn` reports status "True" (its Knative service is Ready). */
  async waitForFunction(
    namespace: string,
    workflow: string,
    fn: string,
    opts: { timeoutMs: number; intervalMs?: number; onProgress?: (line: string) => void },
  ): Promise<FunctionStatus> {
    let found: FunctionStatus | undefined;
    await waitFor(
      `the Knative function '${fn}' of workflow ${namespace}/${workflow} (status "True")`,
      async () => {
        const list = await this.workflowFunctions(namespace, workflow);
        found = list.find((f) => f.info?.name === fn);
        if (found?.status === 'True') return { ready: true, pending: [] };
        const pending: Pending = found
          ? {
              object: `Knative service ${found.serviceName || '(unnamed)'} for function '${fn}'`,
              why: `status ${found.status || 'not reported'}${(found.conditions ?? [])
                .filter((c) => c.status !== 'True')
                .map(
                  (c) =>
                    `; ${c.name ?? '?'}=${c.status ?? '?'} (${[c.reason, c.message].filter(Boolean).join(': ')})`,
                )
                .join('')}`,
            }
          : {
              object: `function '${fn}'`,
              why: `no Knative service yet (the engine creates it asynchronously after the upload; functions listed: ${list.map((f) => f.info?.name).join(', ') || 'none'})`,
            };
        return { ready: false, pending: [pending] };
      },
      {
        timeoutMs: opts.timeoutMs,
        intervalMs: opts.intervalMs ?? 2000,
        onProgress: opts.onProgress,
        signal: this.opts.signal,
        hints: () => [
          'Look at the ksvc and its pods in the functions namespace (kubectl -n direktiv-services-direktiv get ksvc,pods): image pulls (the function image, the sidecar), the sidecar reaching postgres, and the Knative controller logs.',
        ],
      },
    );
    return found as FunctionStatus;
  }

  /**
   * POST .../execute?wait=true with a JSON input. Throws DirektivExecutionError when the error
   * headers say the workflow failed (the status is 200 either way).
   */
  async execute(
    namespace: string,
    workflow: string,
    input: unknown = {},
    opts: { timeoutMs?: number } = {},
  ): Promise<ExecuteResult> {
    const started = Date.now();
    const res = await this.call(
      'POST',
      `/api/namespaces/${seg(namespace)}/workflows/${seg(workflow)}/execute`,
      {
        query: { wait: 'true' },
        body: JSON.stringify(input),
        contentType: 'application/json',
        timeoutMs: opts.timeoutMs ?? 300_000,
      },
    );
    const instanceId = headerValue(res.headers, 'Direktiv-InstanceID');
    const errorCode = headerValue(res.headers, 'Direktiv_ErrorCode');
    const errorMessage = headerValue(res.headers, 'Direktiv_ErrorMsg');
    if (errorCode || errorMessage) {
      throw new DirektivExecutionError(
        namespace,
        workflow,
        instanceId,
        errorCode ?? '(no code)',
        errorMessage ?? '',
      );
    }
    return {
      instanceId,
      output: parseJsonOrText(res.body),
      body: res.body,
      durationMs: Date.now() - started,
    };
  }

  /** POST .../execute (async): answers the instance id. */
  async executeAsync(namespace: string, workflow: string, input: unknown = {}): Promise<string> {
    const res = await this.call(
      'POST',
      `/api/namespaces/${seg(namespace)}/workflows/${seg(workflow)}/execute`,
      {
        body: JSON.stringify(input),
        contentType: 'application/json',
      },
    );
    const v = this.json<{ instanceId?: string }>(res, 'execute');
    if (!v.instanceId)
      throw new Error(`execute ${namespace}/${workflow}: no instanceId in ${res.body.slice(0, 200)}`);
    return v.instanceId;
  }

  /** GET /api/instances/<ns>/<wf>/<id> (the instance id is `ns/wf/XXXXXX`). */
  async getInstance(instanceId: string): Promise<InstanceInfo> {
    const res = await this.call('GET', `/api/instances/${instanceId.split('/').map(seg).join('/')}`, {
      idempotent: true,
    });
    const raw = this.json<Record<string, unknown>>(res, 'get instance');
    return {
      id: String(raw.id ?? instanceId),
      status: String(raw.status ?? ''),
      flow: Array.isArray(raw.flow) ? (raw.flow as string[]) : [],
      errorCode: (raw.errorCode as string | undefined) || undefined,
      errorMessage: (raw.errorMessage as string | undefined) || undefined,
      input: decodeB64Json(raw.input),
      output: decodeB64Json(raw.output),
      raw,
    };
  }

  /** Polls the instance until it leaves `pending`. */
  async waitForInstance(
    instanceId: string,
    opts: { timeoutMs: number; intervalMs?: number },
  ): Promise<InstanceInfo> {
    let last: InstanceInfo | undefined;
    await waitFor(
      `instance ${instanceId} to finish`,
      async () => {
        last = await this.getInstance(instanceId);
        return last.status === 'pending'
          ? {
              ready: false,
              pending: [
                {
                  object: `instance ${instanceId}`,
                  why: `pending after states ${last.flow.join(' -> ') || '(none)'}`,
                },
              ],
            }
          : { ready: true, pending: [] };
      },
      { timeoutMs: opts.timeoutMs, intervalMs: opts.intervalMs ?? 2000, signal: this.opts.signal },
    );
    return last as InstanceInfo;
  }

  /** GET /api/instances/<id>/logs?offset=&limit= */
  async instanceLogs(instanceId: string, opts: { offset?: number; limit?: number } = {}): Promise<LogLine[]> {
    const res = await this.call('GET', `/api/instances/${instanceId.split('/').map(seg).join('/')}/logs`, {
      query: { offset: String(opts.offset ?? 0), limit: String(opts.limit ?? 200) },
      idempotent: true,
    });
    return this.json<{ workflowInstanceLogs?: LogLine[] }>(res, 'instance logs').workflowInstanceLogs ?? [];
  }

  /** Polls the logs until every expected line is there (they reach postgres ~5 s late via fluent-bit). */
  async waitForLogs(
    instanceId: string,
    expected: string[],
    opts: { timeoutMs: number; intervalMs?: number },
  ): Promise<LogLine[]> {
    let lines: LogLine[] = [];
    await waitFor(
      `the log lines of instance ${instanceId}`,
      async () => {
        lines = await this.instanceLogs(instanceId, { limit: 500 });
        const missing = expected.filter((e) => !lines.some((l) => l.message.includes(e)));
        return {
          ready: missing.length === 0,
          pending: missing.map((m) => ({
            object: `log line "${m}"`,
            why: `not among the ${lines.length} lines yet`,
          })),
        };
      },
      { timeoutMs: opts.timeoutMs, intervalMs: opts.intervalMs ?? 2000, signal: this.opts.signal },
    );
    return lines;
  }

  /** GET /api/instances/{ns}?offset=&limit= */
  async listInstances(
    namespace: string,
    opts: { offset?: number; limit?: number } = {},
  ): Promise<{ id: string; status: string }[]> {
    const res = await this.call('GET', `/api/instances/${seg(namespace)}`, {
      query: { offset: String(opts.offset ?? 0), limit: String(opts.limit ?? 10) },
      idempotent: true,
    });
    return (
      this.json<{ workflowInstances?: { id: string; status: string }[] }>(res, 'list instances')
        .workflowInstances ?? []
    );
  }
}

function hintFor(res: HttpResponse): string {
  const err = parseErr(res.body);
  if (res.status === 500 && /content type .* is not supported/.test(err?.Message ?? '')) {
    return "send Content-Type exactly 'text/yaml' (no charset)";
  }
  if (res.status === 406) return 'the workflow definition was rejected: fix the YAML (v0.4.1 syntax)';
  if (res.status === 404 && !err)
    return 'no such route: check the path and its trailing slash (v0.4.1 matches exactly)';
  if (res.status === 404) return 'the namespace, workflow or instance does not exist';
  if (res.status === 405) return 'the route exists but not for this method';
  if (res.status === 401) return 'the API has an API key set (api.key); the harness expects it empty';
  return '';
}
