// Drives Direktiv the way a user would (shared/direktiv-v0.4-api.md §7) so that every path
// carries real traffic, and records every step (what it called, which paths it exercised,
// status, timing, instance id, output) for the report. It never throws for a failed step: the
// record says which step failed and why, and the steps after it are not run.
import type { PathId } from '../../../scenarios/index.ts';
import type { KubeClient } from '../k8s/client.ts';
import { type DirektivApi, DirektivApiError, DirektivExecutionError, type InstanceInfo } from './client.ts';
import {
  ISOLATED_FUNCTION_ID,
  KNATIVE_FUNCTION_ID,
  type TrafficWorkflowOptions,
  trafficWorkflowYaml,
} from './workflow.ts';

export interface TrafficStep {
  name: string;
  /** `POST /api/namespaces/tls-e2e` etc. */
  request: string;
  /** The network paths this step puts traffic on. */
  paths: PathId[];
  ok: boolean;
  /** HTTP status of the (last) call, when there was one. */
  status?: number;
  startedAt: string;
  durationMs: number;
  attempts?: number;
  instanceId?: string;
  output?: unknown;
  note?: string;
  error?: string;
}

export interface TrafficRecord {
  ok: boolean;
  namespace: string;
  workflowId: string;
  workflowYaml: string;
  instanceId?: string;
  output?: unknown;
  steps: TrafficStep[];
  /** `<step>: <why>` when a step failed. */
  error?: string;
  durationMs: number;
}

export interface TrafficOptions {
  /** Direktiv namespace to use (created if missing); default `tls-e2e`. */
  namespace?: string;
  workflow?: TrafficWorkflowOptions;
  /** The API is reached through the contour-external Envoy (adds client->ingress, ingress->api). */
  viaIngress?: boolean;
  timeouts?: {
    /** healthz + engine reachable (400 Code 14 retried); default 180 s. */
    apiReadyMs?: number;
    /** Knative function status "True" (cold image pulls); default 300 s. */
    functionReadyMs?: number;
    /** execute ?wait=true; default 240 s (the action timeouts are PT3M). */
    executeMs?: number;
    /** instance logs appear (fluent-bit flushes every 5 s); default 60 s. */
    logsMs?: number;
  };
  /** Poll interval of the waits; default 2 s. */
  intervalMs?: number;
  onProgress?: (line: string) => void;
}

/** Lines the engine logs for a run of the traffic workflow (pkg/direktiv/state-logic-action.go). */
export function expectedLogLines(): string[] {
  return [
    `Sleeping until function '${KNATIVE_FUNCTION_ID}' returns.`,
    `Function '${KNATIVE_FUNCTION_ID}' returned.`,
    `Function '${ISOLATED_FUNCTION_ID}' returned.`,
    'Workflow completed.',
  ];
}

function checkOutput(output: unknown): string | undefined {
  const o = output as { knative?: unknown; isolated?: { hello?: unknown } } | null;
  if (!o || typeof o !== 'object') return `the workflow output is not an object: ${JSON.stringify(output)}`;
  if (o.knative === undefined || o.knative === null)
    return `the output has no .knative (the Knative call returned nothing): ${JSON.stringify(output)}`;
  if (o.isolated?.hello !== 'isolated') {
    return `the output's .isolated.hello is ${JSON.stringify(o.isolated?.hello)}, not "isolated" (the pod function did not copy its input): ${JSON.stringify(output)}`;
  }
  return undefined;
}

export async function driveTraffic(api: DirektivApi, opts: TrafficOptions = {}): Promise<TrafficRecord> {
  const namespace = opts.namespace ?? 'tls-e2e';
  const workflowYaml = trafficWorkflowYaml(opts.workflow);
  const workflowId = opts.workflow?.id ?? 'tls-traffic';
  const t = {
    apiReadyMs: opts.timeouts?.apiReadyMs ?? 180_000,
    functionReadyMs: opts.timeouts?.functionReadyMs ?? 300_000,
    executeMs: opts.timeouts?.executeMs ?? 240_000,
    logsMs: opts.timeouts?.logsMs ?? 60_000,
  };
  const intervalMs = opts.intervalMs ?? 2000;
  const edge: PathId[] = opts.viaIngress ? ['client->ingress', 'ingress->api'] : [];
  const record: TrafficRecord = { ok: false, namespace, workflowId, workflowYaml, steps: [], durationMs: 0 };
  const started = Date.now();
  const wf = `/api/namespaces/${namespace}/workflows/${workflowId}`;

  const step = async (
    name: string,
    request: string,
    paths: PathId[],
    fn: (s: TrafficStep) => Promise<void>,
  ): Promise<boolean> => {
    const s: TrafficStep = {
      name,
      request,
      paths: [...edge, ...paths],
      ok: false,
      startedAt: new Date().toISOString(),
      durationMs: 0,
    };
    record.steps.push(s);
    const callsBefore = api.calls.length;
    opts.onProgress?.(`traffic: ${name}: ${request}`);
    const t0 = Date.now();
    try {
      await fn(s);
      s.ok = true;
    } catch (e) {
      s.error = (e as Error).message;
      if (e instanceof DirektivApiError) s.status = e.status;
      if (e instanceof DirektivExecutionError && e.instanceId) s.instanceId = e.instanceId;
      record.error = `${name}: ${s.error}`;
    }
    s.durationMs = Date.now() - t0;
    const calls = api.calls.slice(callsBefore);
    const last = calls.at(-1);
    if (last && s.status === undefined) s.status = last.status;
    if (calls.length) s.attempts = calls.reduce((n, c) => n + c.attempts, 0);
    opts.onProgress?.(`traffic: ${name}: ${s.ok ? 'ok' : `FAILED: ${s.error}`} (${s.durationMs} ms)`);
    return s.ok;
  };

  const run = async (): Promise<void> => {
    if (!(await step('api-health', 'GET /api/healthz', [], () => api.healthz()))) return;
    if (
      !(await step(
        'engine-ready',
        'GET /api/namespaces/',
        ['api->engine'],
        async () => void (await api.listNamespaces()),
      ))
    )
      return;
    const nsOk = await step('namespace', `POST /api/namespaces/${namespace}`, ['api->engine'], async (s) => {
      s.note = (await api.createNamespace(namespace)) === 'exists' ? 'existed already (409)' : 'created';
    });
    if (!nsOk) return;
    const upOk = await step(
      'workflow-upload',
      `POST /api/namespaces/${namespace}/workflows (Content-Type: text/yaml)`,
      ['api->engine', 'engine->functions'],
      async (s) => {
        const r = await api.upsertWorkflow(namespace, workflowId, workflowYaml);
        s.note =
          r.action === 'updated'
            ? `existed (409): updated with PUT ${wf}`
            : `created revision ${r.info.revision ?? 0}`;
      },
    );
    if (!upOk) return;
    const fnOk = await step(
      'knative-function-ready',
      `GET ${wf}/functions until '${KNATIVE_FUNCTION_ID}' is "True"`,
      ['api->engine', 'api->functions'],
      async (s) => {
        const f = await api.waitForFunction(namespace, workflowId, KNATIVE_FUNCTION_ID, {
          timeoutMs: t.functionReadyMs,
          intervalMs,
          onProgress: opts.onProgress,
        });
        s.note = `Knative service ${f.serviceName} Ready`;
      },
    );
    if (!fnOk) return;
    const exOk = await step(
      'execute',
      `POST ${wf}/execute?wait=true`,
      [
        'api->engine',
        'engine->knative',
        'sidecar->engine',
        'engine->functions',
        'engine->pod',
        'pod->engine',
      ],
      async (s) => {
        const r = await api.execute(namespace, workflowId, {}, { timeoutMs: t.executeMs });
        s.instanceId = r.instanceId;
        s.output = r.output;
        record.instanceId = r.instanceId;
        record.output = r.output;
        const bad = checkOutput(r.output);
        if (bad) throw new Error(bad);
      },
    );
    if (!exOk) return;
    const id = record.instanceId;
    if (!id) {
      record.error = 'execute: no Direktiv-InstanceID header in the answer';
      return;
    }
    const instOk = await step('instance', `GET /api/instances/${id}`, ['api->engine'], async (s) => {
      const inst: InstanceInfo = await api.waitForInstance(id, { timeoutMs: t.executeMs, intervalMs });
      s.instanceId = id;
      s.output = inst.output;
      s.note = `status ${inst.status}; states ${inst.flow.join(' -> ')}`;
      if (inst.status !== 'complete') {
        throw new Error(
          `instance ${id} ended ${inst.status}: ${inst.errorCode ?? ''} ${inst.errorMessage ?? ''}`.trim(),
        );
      }
      const wantFlow = ['call-knative', 'call-isolated'];
      if (inst.flow.join() !== wantFlow.join()) {
        throw new Error(
          `instance ${id} ran states ${inst.flow.join(' -> ')}, expected ${wantFlow.join(' -> ')}`,
        );
      }
    });
    if (!instOk) return;
    const logsOk = await step('logs', `GET /api/instances/${id}/logs`, ['api->engine'], async (s) => {
      const lines = await api.waitForLogs(id, expectedLogLines(), { timeoutMs: t.logsMs, intervalMs });
      s.note = `${lines.length} log lines`;
    });
    if (!logsOk) return;
    await step('list-instances', `GET /api/instances/${namespace}`, ['api->engine'], async (s) => {
      const list = await api.listInstances(namespace);
      if (!list.some((i) => i.id === id)) throw new Error(`instance ${id} is not in the namespace's list`);
      s.note = `${list.length} instances listed`;
    });
  };

  await run();
  record.ok = !record.error && record.steps.every((s) => s.ok);
  record.durationMs = Date.now() - started;
  return record;
}

/** Paths that carried traffic in a record (steps that succeeded). */
export function exercisedPaths(record: TrafficRecord): PathId[] {
  return [...new Set(record.steps.filter((s) => s.ok).flatMap((s) => s.paths))];
}

/**
 * Removes the Direktiv namespace and workflow, and the workflow's Knative services, which v0.4.1
 * leaves behind (namespace delete only removes namespace-scoped services).
 */
export async function cleanupTraffic(
  api: DirektivApi,
  opts: { namespace?: string; workflowId?: string; kube?: KubeClient; serviceNamespace?: string },
): Promise<string[]> {
  const namespace = opts.namespace ?? 'tls-e2e';
  const done: string[] = [];
  if (opts.workflowId) {
    await api.deleteWorkflow(namespace, opts.workflowId);
    done.push(`deleted workflow ${namespace}/${opts.workflowId}`);
  }
  await api.deleteNamespace(namespace);
  done.push(`deleted Direktiv namespace ${namespace}`);
  if (opts.kube) {
    const svcNs = opts.serviceNamespace ?? 'direktiv-services-direktiv';
    const ksvcs = await opts.kube.list('serving.knative.dev/v1', 'Service', {
      namespace: svcNs,
      labelSelector: `direktiv.io/namespace=${namespace}`,
    });
    for (const k of ksvcs) {
      await opts.kube.delete({
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        namespace: svcNs,
        name: k.metadata.name ?? '',
      });
      done.push(`deleted Knative service ${svcNs}/${k.metadata.name}`);
    }
  }
  return done;
}
