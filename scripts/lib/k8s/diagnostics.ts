// Diagnostics collection, called on failure BEFORE cleanup: events of every namespace the run
// touched, a describe-like YAML dump of every object (redacted), pod logs of every container
// including the previous instance, and the status of every Certificate and CertificateRequest.
// Best effort: one failing call is recorded and the rest is still collected.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import YAML from 'yaml';
import type { ApiResourceInfo, KubeClient } from './client.ts';
import { formatEvent, podProblemLines, recentEvents } from './explain.ts';
import { daemonSetReadiness, deploymentReadiness, readyConditionReadiness } from './readiness.ts';
import { redactObject, redactText } from './redact.ts';
import { describeRef, findCondition, type KubeObject, type KubeRef, refKey, refOf } from './types.ts';

export interface DiagnosticsOptions {
  /** Folder to write into (created). */
  dir: string;
  /** Namespaces to sweep; default: those the client's tracker saw. */
  namespaces?: string[];
  /** Objects the run created (cluster-scoped ones included); default: the tracker's. */
  objects?: KubeRef[];
  /** Dump every listable namespaced kind in the namespaces (default true), not only `objects`. */
  sweep?: boolean;
  /** Lines of each container log to keep (default 2000). */
  logTailLines?: number;
}

export interface DiagnosticsResult {
  dir: string;
  /** Files written, relative to `dir`. */
  files: string[];
  /** What could not be collected, and why. */
  errors: string[];
}

const SKIP_KINDS = new Set(['Event', 'Binding', 'ComponentStatus']);

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

function readiness(obj: KubeObject): string | undefined {
  if (obj.kind === 'Deployment') return deploymentReadiness(obj).why;
  if (obj.kind === 'DaemonSet') return daemonSetReadiness(obj).why;
  if (findCondition(obj, 'Ready')) return readyConditionReadiness(obj).why;
  return undefined;
}

/** Runs tasks with bounded concurrency (the API server of a kind cluster is small). */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(n, queue.length) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
    }),
  );
}

export async function collectDiagnostics(
  client: KubeClient,
  opts: DiagnosticsOptions,
): Promise<DiagnosticsResult> {
  const files: string[] = [];
  const errors: string[] = [];
  const namespaces = [...new Set(opts.namespaces ?? client.tracker.namespaces())].sort();
  const tracked = opts.objects ?? client.tracker.refs();
  const tail = opts.logTailLines ?? 2000;

  const write = async (rel: string, text: string) => {
    const path = join(opts.dir, rel);
    await mkdir(dirname(path), { recursive: true });
    // Everything written passes the redactor, whatever it is.
    await writeFile(path, redactText(text));
    files.push(relative(opts.dir, path));
  };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      errors.push(`${what}: ${(e as Error).message.split('\n')[0]}`);
    }
  };

  await mkdir(opts.dir, { recursive: true });

  // 1. Events, per namespace, oldest first (the story of the run).
  for (const ns of namespaces) {
    await attempt(`events of namespace ${ns}`, async () => {
      const events = await client.list('v1', 'Event', { namespace: ns });
      const time = (e: KubeObject) =>
        String(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? '');
      events.sort((a, b) => time(a).localeCompare(time(b)));
      const lines = events.map((e) => {
        const io = (e.involvedObject ?? {}) as { kind?: string; name?: string };
        return `${time(e)}  ${io.kind ?? '?'}/${io.name ?? '?'}  ${formatEvent(e)}`;
      });
      await write(`events/${safe(ns)}.txt`, lines.length ? `${lines.join('\n')}\n` : '(no events)\n');
    });
  }

  // 2. Objects: the tracked ones, and a sweep of every listable kind in the namespaces.
  const objects = new Map<string, KubeObject>();
  for (const ref of tracked) {
    await attempt(`read ${describeRef(ref)}`, async () => {
      const obj = await client.getOrNull(ref);
      if (obj) objects.set(refKey(refOf(obj)), obj);
      else errors.push(`${describeRef(ref)}: created by the run but no longer exists`);
    });
  }
  for (const ns of namespaces) {
    await attempt(`read Namespace ${ns}`, async () => {
      const obj = await client.getOrNull({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      if (obj) objects.set(refKey(refOf(obj)), obj);
    });
  }
  if (opts.sweep ?? true) {
    let resources: ApiResourceInfo[] = [];
    await attempt('discover API resources', async () => {
      resources = (await client.discoverResources()).filter(
        (r) => r.namespaced && r.verbs.includes('list') && !SKIP_KINDS.has(r.kind),
      );
    });
    const jobs = namespaces.flatMap((ns) => resources.map((r) => ({ ns, r })));
    await pool(jobs, 4, async ({ ns, r }) => {
      await attempt(`list ${r.kind} (${r.apiVersion}) in ${ns}`, async () => {
        for (const o of await client.list(r.apiVersion, r.kind, { namespace: ns })) {
          objects.set(refKey(refOf(o)), o);
        }
      });
    });
  }
  const sorted = [...objects.values()].sort((a, b) => refKey(refOf(a)).localeCompare(refKey(refOf(b))));
  await pool(sorted, 4, async (obj) => {
    const ref = refOf(obj);
    await attempt(`describe ${describeRef(ref)}`, async () => {
      const header = [`# ${describeRef(ref)} (${obj.apiVersion})`];
      const ready = readiness(obj);
      if (ready) header.push(`# readiness: ${ready}`);
      if (obj.kind === 'Pod') for (const l of podProblemLines(obj)) header.push(`# problem: ${l}`);
      if (ref.namespace) {
        const evs = await recentEvents(client, ref, 10).catch(() => []);
        for (const e of evs) header.push(`# ${e}`);
      }
      const folder = ref.namespace ? safe(ref.namespace) : '_cluster';
      await write(
        `objects/${folder}/${safe(obj.kind)}.${safe(ref.name)}.yaml`,
        `${header.join('\n')}\n${YAML.stringify(redactObject(obj), { lineWidth: 0 })}`,
      );
    });
  });

  // 3. Pod logs: every container and init container, plus the previous instance after a restart.
  const pods = sorted.filter((o) => o.kind === 'Pod' && o.apiVersion === 'v1');
  await pool(pods, 4, async (pod) => {
    const ns = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    const spec = (pod.spec ?? {}) as { containers?: { name: string }[]; initContainers?: { name: string }[] };
    const statuses = [
      ...((pod.status as { containerStatuses?: unknown[] } | undefined)?.containerStatuses ?? []),
      ...((pod.status as { initContainerStatuses?: unknown[] } | undefined)?.initContainerStatuses ?? []),
    ] as { name: string; restartCount?: number; lastState?: { terminated?: unknown } }[];
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const base = `logs/${safe(ns)}/${safe(name)}/${safe(c.name)}`;
      await attempt(`log of ${ns}/${name} container ${c.name}`, async () => {
        await write(`${base}.log`, await client.podLogs(ns, name, c.name, { tailLines: tail }));
      });
      const st = statuses.find((s) => s.name === c.name);
      if (st && ((st.restartCount ?? 0) > 0 || st.lastState?.terminated)) {
        await attempt(`previous log of ${ns}/${name} container ${c.name}`, async () => {
          try {
            await write(
              `${base}.previous.log`,
              await client.podLogs(ns, name, c.name, { previous: true, tailLines: tail }),
            );
          } catch (e) {
            // The kubelet keeps only the last terminated instance; none is not a failure.
            if (!/previous terminated container .* not found/.test((e as Error).message)) throw e;
          }
        });
      }
    }
  });

  // 4. Certificates and CertificateRequests: status at a glance.
  const certs = sorted.filter((o) => o.apiVersion === 'cert-manager.io/v1' && o.kind === 'Certificate');
  const requests = sorted.filter(
    (o) => o.apiVersion === 'cert-manager.io/v1' && o.kind === 'CertificateRequest',
  );
  if (certs.length || requests.length) {
    const summary = certs.map((c) => ({
      certificate: `${c.metadata.namespace}/${c.metadata.name}`,
      ready: readyConditionReadiness(c).why,
      status: c.status ?? null,
      requests: requests
        .filter(
          (r) =>
            r.metadata.namespace === c.metadata.namespace &&
            (r.metadata.annotations?.['cert-manager.io/certificate-name'] === c.metadata.name ||
              (r.metadata.ownerReferences ?? []).some((o) => o.uid === c.metadata.uid)),
        )
        .map((r) => ({ name: r.metadata.name, status: r.status ?? null })),
    }));
    await attempt('certificate summary', () =>
      write('cert-manager/certificates.yaml', YAML.stringify({ certificates: summary }, { lineWidth: 0 })),
    );
  }

  // 5. An index a person reads first.
  const readme = [
    '# Diagnostics',
    '',
    `Collected ${new Date().toISOString()} from ${client.server} (context ${client.contextName}).`,
    '',
    `Namespaces: ${namespaces.join(', ') || '(none)'}`,
    '',
    '- `events/<namespace>.txt`: events, oldest first',
    '- `objects/<namespace>/<Kind>.<name>.yaml`: each object with readiness, problems and events in the header (Secret values redacted)',
    '- `logs/<namespace>/<pod>/<container>.log` (and `.previous.log` after a restart)',
    '- `cert-manager/certificates.yaml`: Certificates with their CertificateRequests',
    '',
    `${objects.size} objects, ${pods.length} pods, ${certs.length} certificates.`,
    '',
    errors.length
      ? `## Not collected\n\n${errors.map((e) => `- ${e}`).join('\n')}\n`
      : 'Everything was collected.\n',
  ].join('\n');
  await write('README.md', readme);
  return { dir: opts.dir, files: files.sort(), errors };
}
