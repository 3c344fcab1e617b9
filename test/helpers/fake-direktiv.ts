// Why a fake: Direktiv v0.4.1's own servers cannot be built here. The Go module proxy does not
// serve Direktiv under any path or version (checked 2026-12-07, Go 1.26.8):
//   go mod download -json github.com/vorteil/direktiv@v0.4.1 ->
//   "reading https://proxy.golang.org/github.com/vorteil/direktiv/@v/v0.4.1.info: 403 Forbidden
//    server response: This module version is not available."
// (the same 403 for @v0.4.0, @latest, and github.com/direktiv/direktiv@v0.4.1/@v0.5.0/@latest).
// When a real Direktiv v0.4.1 can be run, the traffic tests move to it and this file goes.
// A fake Direktiv v0.4.1 API (HTTP or HTTPS on loopback) faithful to what the traffic driver
// depends on, as read from v0.4.1:pkg/api (server.go routes, workflow.go, functions.go,
// instances.go, error.go):
//  - exact routes (trailing slashes matter): unknown path 404 "404 page not found", known path
//    with another method 405;
//  - errors as {"Code","Message"} with the gRPC->HTTP mapping (14 -> 400, 6 -> 409, 5 -> 404,
//    3 -> 406, non-gRPC 50 -> 500), and 400 Code 14 for the first N engine-backed calls;
//  - workflow create/update only with Content-Type exactly `text/yaml` (else 500 Code 50),
//    409 on re-create, 406 for a definition the v0.4.1 model rejects (unknown keys, bad types);
//  - execute ?wait=true: 200 with the final state data, Direktiv-InstanceID, and on failure the
//    Direktiv_errorcode / Direktiv_errormsg headers (Go's canonical form) with an empty body;
//  - the workflow's functions with Knative status "Unknown" until polled N times, then "True";
//  - instance logs that appear only after N polls (fluent-bit's flush).
// Execution is simulated: a reusable function echoes its input, an isolated one copies it, and
// `jq(.a.b)` paths in inputs and transforms are evaluated (enough for the traffic workflow).
import { randomBytes } from 'node:crypto';
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import YAML from 'yaml';

type Json = Record<string, unknown>;

export interface FakeDirektivOptions {
  /** Serve HTTPS with this certificate. */
  tls?: { certPem: string; keyPem: string };
  /** The first N engine-backed calls answer 400 {"Code":14} (engine not reachable yet). */
  unavailableCalls?: number;
  /** GET .../functions reports "Unknown" this many times before "True". */
  functionPollsUntilReady?: number;
  /** GET .../logs answers no lines this many times. */
  logPollsUntilVisible?: number;
  /** Make executions fail with these error headers (status 200, as the real API does). */
  failExecution?: { code: string; message: string };
}

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Raw header names and values as sent (case preserved). */
  rawHeaders: string[];
  body: string;
  status: number;
}

interface Instance {
  id: string;
  status: string;
  flow: string[];
  input: unknown;
  output: unknown;
  errorCode?: string;
  errorMessage?: string;
  logs: string[];
}

const ID_RE = /^(([a-z][a-z0-9_-]*[a-z0-9])|([a-z]))$/;
const GRPC_HTTP: Record<number, number> = { 3: 406, 5: 404, 6: 409, 14: 400, 50: 500 };

class ApiErr extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A plain-text error answer (workflow.go writes some errors without the JSON envelope). */
class PlainErr extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {
    super(text);
  }
}

const WORKFLOW_KEYS = [
  'id',
  'name',
  'description',
  'version',
  'singular',
  'functions',
  'schemas',
  'states',
  'timeouts',
  'start',
];
const FUNCTION_KEYS: Record<string, string[]> = {
  reusable: ['id', 'type', 'image', 'size', 'cmd', 'scale', 'files'],
  isolated: ['id', 'type', 'image', 'size', 'cmd', 'files'],
  'knative-namespace': ['id', 'type', 'service', 'files'],
  'knative-global': ['id', 'type', 'service', 'files'],
  subflow: ['id', 'type', 'workflow'],
};
const ACTION_STATE_KEYS = [
  'id',
  'type',
  'log',
  'catch',
  'action',
  'async',
  'timeout',
  'transform',
  'transition',
];
const ACTION_KEYS = ['function', 'input', 'secrets', 'retries'];

function strictKeys(obj: Json, allowed: string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k))
      throw new ApiErr(3, `bad workflow definition: ${where}: field ${k} not found in type`);
  }
}

/** The checks of v0.4.1's model that the traffic workflow could trip over. */
function validateWorkflow(doc: Json): void {
  strictKeys(doc, WORKFLOW_KEYS, 'workflow');
  const fns = (doc.functions ?? []) as Json[];
  const fnIds = new Set<string>();
  for (const f of fns) {
    const type = String(f.type ?? '');
    const keys = FUNCTION_KEYS[type];
    if (!keys) throw new ApiErr(3, `bad workflow definition: unrecognized function type '${type}'`);
    strictKeys(f, keys, `function ${f.id}`);
    if (!ID_RE.test(String(f.id ?? '')))
      throw new ApiErr(3, `bad workflow definition: function id must match regex: ${ID_RE.source}`);
    if ((type === 'reusable' || type === 'isolated') && !f.image)
      throw new ApiErr(3, `bad workflow definition: function ${f.id}: image required`);
    fnIds.add(String(f.id));
  }
  const states = (doc.states ?? []) as Json[];
  if (states.length === 0) throw new ApiErr(3, 'bad workflow definition: workflow has no states');
  const stateIds = new Set(states.map((s) => String(s.id)));
  for (const s of states) {
    if (s.type !== 'action') continue;
    strictKeys(s, ACTION_STATE_KEYS, `state ${s.id}`);
    const a = (s.action ?? {}) as Json;
    strictKeys(a, ACTION_KEYS, `state ${s.id} action`);
    if (!fnIds.has(String(a.function)))
      throw new ApiErr(3, `bad workflow definition: state ${s.id}: function '${a.function}' not defined`);
    if (s.transition && !stateIds.has(String(s.transition))) {
      throw new ApiErr(
        3,
        `bad workflow definition: state ${s.id}: transition to non-existent state: ${s.transition}`,
      );
    }
    if (s.timeout && !/^P/.test(String(s.timeout)))
      throw new ApiErr(3, `bad workflow definition: state ${s.id}: invalid timeout`);
  }
}

function jqPath(data: unknown, expr: string): unknown {
  const m = /^jq\(\s*\.([A-Za-z0-9_.]*)\s*\)$/.exec(expr);
  if (!m) return expr;
  let cur: unknown = data;
  for (const p of (m[1] as string).split('.').filter(Boolean)) cur = (cur as Json | undefined)?.[p];
  return cur ?? null;
}

function evaluate(tpl: unknown, data: unknown): unknown {
  if (typeof tpl === 'string') return jqPath(data, tpl);
  if (Array.isArray(tpl)) return tpl.map((t) => evaluate(t, data));
  if (tpl && typeof tpl === 'object') {
    return Object.fromEntries(Object.entries(tpl).map(([k, v]) => [k, evaluate(v, data)]));
  }
  return tpl;
}

const ts = () => {
  const ms = Date.now();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
};

export class FakeDirektiv {
  readonly requests: SeenRequest[] = [];
  readonly namespaces = new Set<string>();
  readonly workflows = new Map<string, { yaml: string; doc: Json; revision: number }>();
  readonly instances = new Map<string, Instance>();
  url = '';
  private server!: Server;
  private unavailableLeft: number;
  private readonly functionPolls = new Map<string, number>();
  private readonly logPolls = new Map<string, number>();

  private constructor(readonly opts: FakeDirektivOptions) {
    this.unavailableLeft = opts.unavailableCalls ?? 0;
  }

  static async start(opts: FakeDirektivOptions = {}): Promise<FakeDirektiv> {
    const f = new FakeDirektiv(opts);
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      f.handle(req, res).catch((e) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`fake-direktiv bug: ${(e as Error).stack}`);
      });
    };
    f.server = opts.tls
      ? createHttps({ cert: opts.tls.certPem, key: opts.tls.keyPem }, handler)
      : createHttp(handler);
    await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
    const port = (f.server.address() as { port: number }).port;
    f.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return f;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private engine(): void {
    if (this.unavailableLeft > 0) {
      this.unavailableLeft--;
      throw new ApiErr(
        14,
        'all SubConns are in TransientFailure, latest connection error: connection error: desc = "transport: Error while dialing dial tcp: lookup direktiv-ingress-hl.default on 10.96.0.10:53: no such host"',
      );
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'http://fake');
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString('utf8'),
      status: 0,
    };
    this.requests.push(seen);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      seen.status = status;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, headers);
      res.end(text);
    };
    try {
      const r = this.route(seen);
      if (!r) {
        send(404, '404 page not found\n', { 'Content-Type': 'text/plain; charset=utf-8' });
        return;
      }
      const out = r();
      send(out.status ?? 200, out.body ?? '', out.headers ?? {});
    } catch (e) {
      if (e instanceof PlainErr) {
        send(e.status, e.text);
        return;
      }
      if (e instanceof ApiErr) {
        send(GRPC_HTTP[e.code] ?? 400, `${JSON.stringify({ Code: e.code, Message: e.message })}\n`, {
          'Content-Type': 'application/json',
        });
        return;
      }
      throw e;
    }
  }

  /** Matches a route exactly (method and path); 405 when only the method differs. */
  private route(
    req: SeenRequest,
  ): (() => { status?: number; body?: unknown; headers?: Record<string, string> }) | undefined {
    type H = (m: string[]) => { status?: number; body?: unknown; headers?: Record<string, string> };
    const routes: [string, RegExp, H][] = [
      ['GET', /^\/api\/healthz$/, () => ({ body: '' })],
      ['GET', /^\/api\/namespaces\/$/, () => this.listNamespaces()],
      ['POST', /^\/api\/namespaces\/([^/]+)$/, (m) => this.addNamespace(m[1] as string)],
      ['DELETE', /^\/api\/namespaces\/([^/]+)$/, (m) => this.deleteNamespace(m[1] as string)],
      ['POST', /^\/api\/namespaces\/([^/]+)\/workflows$/, (m) => this.createWorkflow(req, m[1] as string)],
      ['GET', /^\/api\/namespaces\/([^/]+)\/workflows\/$/, (m) => this.listWorkflows(m[1] as string)],
      [
        'GET',
        /^\/api\/namespaces\/([^/]+)\/workflows\/([^/]+)$/,
        (m) => this.getWorkflow(m[1] as string, m[2] as string),
      ],
      [
        'PUT',
        /^\/api\/namespaces\/([^/]+)\/workflows\/([^/]+)$/,
        (m) => this.updateWorkflow(req, m[1] as string, m[2] as string),
      ],
      [
        'DELETE',
        /^\/api\/namespaces\/([^/]+)\/workflows\/([^/]+)$/,
        (m) => this.deleteWorkflow(m[1] as string, m[2] as string),
      ],
      [
        'GET',
        /^\/api\/namespaces\/([^/]+)\/workflows\/([^/]+)\/functions$/,
        (m) => this.functions(m[1] as string, m[2] as string),
      ],
      [
        'POST',
        /^\/api\/namespaces\/([^/]+)\/workflows\/([^/]+)\/execute$/,
        (m) => this.execute(req, m[1] as string, m[2] as string),
      ],
      [
        'GET',
        /^\/api\/namespaces\/([^/]+)\/workflows\/([^/]+)\/execute$/,
        (m) => this.execute(req, m[1] as string, m[2] as string),
      ],
      ['GET', /^\/api\/instances\/([^/]+)$/, (m) => this.listInstances(m[1] as string)],
      [
        'GET',
        /^\/api\/instances\/([^/]+)\/([^/]+)\/([^/]+)$/,
        (m) => this.getInstance(`${m[1]}/${m[2]}/${m[3]}`),
      ],
      [
        'GET',
        /^\/api\/instances\/([^/]+)\/([^/]+)\/([^/]+)\/logs$/,
        (m) => this.logs(`${m[1]}/${m[2]}/${m[3]}`),
      ],
    ];
    let pathMatched = false;
    for (const [method, re, h] of routes) {
      const m = re.exec(req.path);
      if (!m) continue;
      pathMatched = true;
      if (method === req.method)
        return () => h(m.map((x) => (x === undefined ? x : decodeURIComponent(x))) as string[]);
    }
    // gorilla mux: the path exists with other methods -> 405 with an empty body.
    return pathMatched ? () => ({ status: 405, body: '' }) : undefined;
  }

  private listNamespaces() {
    this.engine();
    return {
      body: {
        namespaces: [...this.namespaces].map((name) => ({ name, createdAt: ts() })),
        offset: 0,
        limit: 0,
      },
      headers: { 'Content-Type': 'application/json' },
    };
  }

  private addNamespace(ns: string) {
    this.engine();
    if (!ID_RE.test(ns))
      throw new ApiErr(50, `namespace name must match the regex pattern \`${ID_RE.source}\``);
    if (this.namespaces.has(ns)) throw new ApiErr(6, 'namespace already exists');
    this.namespaces.add(ns);
    return { body: { name: ns, createdAt: ts() } };
  }

  private deleteNamespace(ns: string) {
    this.engine();
    if (!this.namespaces.delete(ns)) throw new ApiErr(5, 'namespace not found');
    for (const k of [...this.workflows.keys()]) if (k.startsWith(`${ns}/`)) this.workflows.delete(k);
    return { body: {} };
  }

  /** Content-Type check exactly as workflow.go: the first value, compared byte for byte. */
  private parseWorkflowBody(req: SeenRequest): Json {
    const raw = req.rawHeaders;
    let contentType = '';
    for (let i = 0; i < raw.length; i += 2) {
      if ((raw[i] as string).toLowerCase() === 'content-type') {
        contentType = raw[i + 1] as string;
        break;
      }
    }
    if (contentType !== 'text/yaml') {
      throw new ApiErr(
        50,
        `content type '${contentType}' is not supported. supported media types: 'text/yaml'`,
      );
    }
    let doc: unknown;
    try {
      doc = YAML.parse(req.body);
    } catch {
      throw new PlainErr(400, 'unable to marshal yaml body');
    }
    if (!doc || typeof doc !== 'object') throw new ApiErr(3, 'bad workflow definition: not a map');
    return doc as Json;
  }

  private createWorkflow(req: SeenRequest, ns: string) {
    const doc = this.parseWorkflowBody(req);
    if (typeof doc.id === 'string' && !ID_RE.test(doc.id)) {
      return { status: 400, body: `workflow id must match the regex pattern \`${ID_RE.source}\`` };
    }
    this.engine();
    if (!this.namespaces.has(ns)) throw new ApiErr(5, 'namespace not found');
    validateWorkflow(doc);
    const key = `${ns}/${doc.id}`;
    if (this.workflows.has(key)) throw new ApiErr(6, 'workflow already exists');
    this.workflows.set(key, { yaml: req.body, doc, revision: 0 });
    return { body: { id: doc.id, active: true, createdAt: ts() } };
  }

  private updateWorkflow(req: SeenRequest, ns: string, wf: string) {
    const doc = this.parseWorkflowBody(req);
    this.engine();
    const cur = this.workflows.get(`${ns}/${wf}`);
    if (!cur) throw new ApiErr(5, 'workflow not found');
    validateWorkflow(doc);
    cur.yaml = req.body;
    cur.doc = doc;
    cur.revision++;
    return { body: { id: wf, revision: cur.revision, active: true, createdAt: ts() } };
  }

  private listWorkflows(ns: string) {
    this.engine();
    const items = [...this.workflows.entries()]
      .filter(([k]) => k.startsWith(`${ns}/`))
      .map(([, w]) => ({ id: w.doc.id, active: true }));
    return { body: { workflows: items, offset: 0, limit: 0 } };
  }

  private getWorkflow(ns: string, wf: string) {
    this.engine();
    const w = this.workflows.get(`${ns}/${wf}`);
    if (!w) throw new ApiErr(5, 'workflow not found');
    return {
      body: { id: wf, revision: w.revision, active: true, workflow: Buffer.from(w.yaml).toString('base64') },
    };
  }

  private deleteWorkflow(ns: string, wf: string) {
    this.engine();
    if (!this.workflows.delete(`${ns}/${wf}`)) throw new ApiErr(5, 'workflow not found');
    return { body: {} };
  }

  private functions(ns: string, wf: string) {
    this.engine();
    const w = this.workflows.get(`${ns}/${wf}`);
    if (!w) throw new ApiErr(5, 'workflow not found');
    const key = `${ns}/${wf}`;
    const polls = (this.functionPolls.get(key) ?? 0) + 1;
    this.functionPolls.set(key, polls);
    const ready = polls > (this.opts.functionPollsUntilReady ?? 0);
    const out = ((w.doc.functions ?? []) as Json[])
      .filter((f) => f.type === 'reusable')
      .map((f) => ({
        info: { workflow: wf, name: f.id, namespace: ns, image: f.image, cmd: f.cmd ?? '' },
        serviceName: `workflow-${[...`${ns}-${wf}-${f.id}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)}`,
        status: ready ? 'True' : 'Unknown',
        conditions: ready
          ? [{ name: 'Ready', status: 'True' }]
          : [
              {
                name: 'Ready',
                status: 'Unknown',
                reason: 'RevisionMissing',
                message: 'Configuration is waiting for a Revision to become ready.',
              },
            ],
      }));
    return { body: out };
  }

  private run(doc: Json, input: unknown): { output: Json; flow: string[]; logs: string[] } {
    const fns = new Map(((doc.functions ?? []) as Json[]).map((f) => [String(f.id), f]));
    const states = (doc.states ?? []) as Json[];
    let data: Json =
      input && typeof input === 'object' && !Array.isArray(input) ? (input as Json) : { input };
    const flow: string[] = [];
    const logs: string[] = [];
    let state: Json | undefined = states[0];
    while (state) {
      flow.push(String(state.id));
      const action = state.action as Json;
      const fn = fns.get(String(action.function)) as Json;
      const actionInput = action.input === undefined ? data : evaluate(action.input, data);
      logs.push(`Sleeping until function '${fn.id}' returns.`);
      // reusable: echo server; isolated: cp input.json output.json.
      const ret = structuredClone(actionInput);
      logs.push(`Function '${fn.id}' returned.`);
      data = { ...data, return: ret };
      if (state.transform) data = evaluate(state.transform, data) as Json;
      const next = state.transition;
      state = next ? states.find((s) => s.id === next) : undefined;
    }
    logs.push('Workflow completed.');
    return { output: data, flow, logs };
  }

  private execute(req: SeenRequest, ns: string, wf: string) {
    this.engine();
    const w = this.workflows.get(`${ns}/${wf}`);
    if (!w) throw new ApiErr(5, 'workflow not found');
    let input: unknown = {};
    if (req.method === 'POST' && req.body) {
      try {
        input = JSON.parse(req.body);
      } catch {
        input = { input: Buffer.from(req.body).toString('base64') };
      }
    }
    const id = `${ns}/${wf}/${randomBytes(3).toString('hex').slice(0, 6)}`;
    const fail = this.opts.failExecution;
    const r = this.run(w.doc, input);
    const inst: Instance = fail
      ? {
          id,
          status: 'failed',
          flow: r.flow.slice(0, 1),
          input,
          output: null,
          errorCode: fail.code,
          errorMessage: fail.message,
          logs: [`Workflow failed with error '${fail.code}': ${fail.message}`],
        }
      : { id, status: 'complete', flow: r.flow, input, output: r.output, logs: r.logs };
    this.instances.set(id, inst);
    if (!req.query.get('wait'))
      return { body: { instanceId: id }, headers: { 'Content-Type': 'application/json' } };
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Direktiv-InstanceID': id };
    if (fail) {
      // Go's Header.Set canonicalises Direktiv_ErrorCode to Direktiv_errorcode.
      headers.Direktiv_errorcode = fail.code;
      headers.Direktiv_errormsg = fail.message;
      return { body: '', headers };
    }
    return { body: JSON.stringify(inst.output), headers };
  }

  private listInstances(ns: string) {
    this.engine();
    const list = [...this.instances.values()]
      .filter((i) => i.id.startsWith(`${ns}/`))
      .map((i) => ({ id: i.id, status: i.status, beginTime: ts() }));
    return { body: { workflowInstances: list, offset: 0, limit: 10 } };
  }

  private getInstance(id: string) {
    this.engine();
    const i = this.instances.get(id);
    if (!i) throw new ApiErr(5, 'instance not found');
    const b64 = (v: unknown) =>
      v === null || v === undefined ? '' : Buffer.from(JSON.stringify(v)).toString('base64');
    return {
      body: {
        id: i.id,
        status: i.status,
        invokedBy: '',
        revision: 0,
        beginTime: ts(),
        endTime: ts(),
        flow: i.flow,
        input: b64(i.input),
        output: b64(i.output),
        ...(i.errorCode ? { errorCode: i.errorCode, errorMessage: i.errorMessage } : {}),
      },
    };
  }

  private logs(id: string) {
    this.engine();
    const i = this.instances.get(id);
    if (!i) throw new ApiErr(5, 'instance not found');
    const polls = (this.logPolls.get(id) ?? 0) + 1;
    this.logPolls.set(id, polls);
    const visible = polls > (this.opts.logPollsUntilVisible ?? 0);
    return {
      body: {
        workflowInstanceLogs: visible ? i.logs.map((message) => ({ timestamp: ts(), message })) : [],
        offset: 0,
        limit: 200,
      },
    };
  }
}
