// Evidence for "why is this not ready": recent Events of an object, and the states of the pods
// behind a workload (ImagePullBackOff, CrashLoopBackOff, Unschedulable, ... with the container
// and its message). Used by gate timeouts and by the diagnostics collector.
import type { KubeClient } from './client.ts';
import { describeRef, type KubeObject, type KubeRef } from './types.ts';
import type { Pending } from './wait.ts';

interface EventObj extends KubeObject {
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
  firstTimestamp?: string;
  series?: { count?: number; lastObservedTime?: string };
}

const eventTime = (e: EventObj) =>
  e.lastTimestamp ??
  e.series?.lastObservedTime ??
  e.eventTime ??
  e.firstTimestamp ??
  e.metadata.creationTimestamp ??
  '';

export function formatEvent(e: EventObj): string {
  const count = e.series?.count ?? e.count ?? 1;
  return `event ${e.type ?? 'Normal'} ${e.reason ?? ''}${count > 1 ? ` (x${count})` : ''}: ${(e.message ?? '').trim()}`;
}

/** The most recent Events about one object, newest first, Warnings before Normal ones. */
export async function recentEvents(client: KubeClient, ref: KubeRef, limit = 5): Promise<string[]> {
  if (!ref.namespace && ref.kind !== 'Node' && ref.kind !== 'Namespace') return [];
  const events = (await client.list('v1', 'Event', {
    namespace: ref.namespace ?? 'default',
    fieldSelector: `involvedObject.name=${ref.name},involvedObject.kind=${ref.kind}`,
  })) as EventObj[];
  return events
    .sort(
      (a, b) =>
        Number(b.type === 'Warning') - Number(a.type === 'Warning') ||
        eventTime(b).localeCompare(eventTime(a)),
    )
    .slice(0, limit)
    .map(formatEvent);
}

/** `app=x,tier in (a,b)` from a LabelSelector (matchLabels + matchExpressions). */
export function selectorString(sel: unknown): string | undefined {
  const s = sel as
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined;
  if (!s) return undefined;
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(',') : undefined;
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; exitCode?: number; message?: string };
    running?: unknown;
  };
  lastState?: { terminated?: { reason?: string; exitCode?: number; message?: string } };
}

/** One line per problem of one pod: scheduling, waiting containers, crashes, failed phase. */
export function podProblemLines(pod: KubeObject): string[] {
  const name = `pod ${pod.metadata.name}`;
  const st = (pod.status ?? {}) as {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
  const out: string[] = [];
  const sched = st.conditions?.find((c) => c.type === 'PodScheduled');
  if (sched && sched.status !== 'True') {
    out.push(`${name}: not scheduled: ${[sched.reason, sched.message].filter(Boolean).join(': ')}`);
  }
  if (st.phase === 'Failed' || st.reason === 'Evicted') {
    out.push(
      `${name}: ${st.phase}${st.reason ? ` (${st.reason})` : ''}${st.message ? `: ${st.message}` : ''}`,
    );
  }
  const containers = [
    ...(st.initContainerStatuses ?? []).map((c) => ({ c, init: true })),
    ...(st.containerStatuses ?? []).map((c) => ({ c, init: false })),
  ];
  for (const { c, init } of containers) {
    const label = `${name} ${init ? 'init container' : 'container'} ${c.name}`;
    const w = c.state?.waiting;
    const last = c.lastState?.terminated;
    const restarts = c.restartCount ?? 0;
    if (w?.reason) {
      let line = `${label}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
      if (restarts > 0) line += ` (restarts ${restarts})`;
      if (last) {
        line += `; last exit: ${last.reason ?? 'terminated'} code ${last.exitCode ?? '?'}${last.message ? `: ${last.message.trim()}` : ''}`;
      }
      out.push(line);
    } else if (c.state?.terminated && (c.state.terminated.exitCode ?? 0) !== 0) {
      const t = c.state.terminated;
      out.push(
        `${label}: terminated ${t.reason ?? ''} code ${t.exitCode}${t.message ? `: ${t.message.trim()}` : ''}`,
      );
    } else if (!init && c.state?.running && c.ready === false) {
      out.push(
        `${label}: running but not ready (readiness probe failing?)${restarts ? ` (restarts ${restarts})` : ''}`,
      );
    }
  }
  return out;
}

const WORKLOADS = new Set(['Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet', 'Job']);

/** Pod problems of a workload (through its selector), plus Warning events of the problem pods. */
export async function workloadPodProblems(
  client: KubeClient,
  workload: KubeObject,
  limit = 6,
): Promise<string[]> {
  const selector = selectorString((workload.spec as { selector?: unknown } | undefined)?.selector);
  if (!selector || !workload.metadata.namespace) return [];
  const pods = await client.list('v1', 'Pod', {
    namespace: workload.metadata.namespace,
    labelSelector: selector,
  });
  if (pods.length === 0) return [`no pods match ${selector} (is a ReplicaSet or the scheduler stuck?)`];
  const out: string[] = [];
  for (const p of pods) {
    const lines = podProblemLines(p);
    out.push(...lines);
    if (lines.length) {
      const evs = await recentEvents(
        client,
        { apiVersion: 'v1', kind: 'Pod', name: p.metadata.name ?? '', namespace: p.metadata.namespace },
        2,
      );
      out.push(...evs.filter((e) => e.startsWith('event Warning')).map((e) => `${p.metadata.name}: ${e}`));
    }
    if (out.length >= limit) break;
  }
  return out.slice(0, limit);
}

/** Adds events (and, for workloads, pod states) to each pending object that carries a ref. */
export async function explainPending(client: KubeClient, pending: Pending[]): Promise<Pending[]> {
  const out: Pending[] = [];
  for (const p of pending) {
    if (!p.ref) {
      out.push(p);
      continue;
    }
    const details = [...(p.details ?? [])];
    try {
      if (WORKLOADS.has(p.ref.kind)) {
        const obj = await client.getOrNull(p.ref);
        if (obj) details.push(...(await workloadPodProblems(client, obj)));
      }
      details.push(...(await recentEvents(client, p.ref)));
    } catch (e) {
      details.push(
        `(could not read events or pods of ${describeRef(p.ref)}: ${(e as Error).message.split('\n')[0]})`,
      );
    }
    out.push({ ...p, details });
  }
  return out;
}

const HINTS: [RegExp, string][] = [
  [
    /ImagePullBackOff|ErrImagePull|InvalidImageName|manifest unknown/,
    'An image cannot be pulled: check its name and tag, that the registry is reachable from the node, or override it in the images file (preflight names the chart value that sets it).',
  ],
  [
    /CrashLoopBackOff|last exit:/,
    'A container keeps crashing: read its log and its previous log (logs/<namespace>/<pod>/ in the diagnostics folder).',
  ],
  [
    /not scheduled|Unschedulable|Insufficient (cpu|memory)/,
    'A pod cannot be scheduled: the kind node lacks CPU or memory (give Docker more) or a taint/affinity excludes it.',
  ],
  [
    /CreateContainerConfigError|secret ".*" not found|configmap ".*" not found|MountVolume/,
    'A pod waits for a Secret or ConfigMap: check that the profile created it in that namespace (certificates Ready?).',
  ],
  [/readiness probe/, 'A container runs but fails its readiness probe: read its log.'],
  [
    /Issuer \S+: not found|Referenced "(Cluster)?Issuer" not found/,
    "A Certificate references an issuer that does not exist: apply the profile's Issuer/ClusterIssuer first, or fix spec.issuerRef.",
  ],
  [
    /Issuer \S+: Ready=False/,
    'The issuer is not ready: read its condition (a CA issuer needs its CA Secret in its namespace; a ClusterIssuer in the cert-manager namespace).',
  ],
  [
    /no CertificateRequest yet/,
    'cert-manager has not acted on the Certificate: check that the cert-manager controller is running.',
  ],
];

/** What to do, from the problems found in the pending items (one line per kind of problem). */
export function problemHints(pending: Pending[]): string[] {
  const text = pending.flatMap((p) => [p.why, ...(p.details ?? [])]).join('\n');
  return HINTS.filter(([re]) => re.test(text)).map(([, hint]) => hint);
}
