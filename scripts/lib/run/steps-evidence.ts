// Actions of the evidence phases of a real run: the driver's capture, real traffic through the
// API, active probes on what the driver reaches, configuration from the live objects. Each action
// stores what it saw on the scenario's record; the report step judges it (profileResult).
import { join } from 'node:path';
import { type Component, PATH_IDS, PATHS, type PathId, type Scenario } from '../../../scenarios/index.ts';
import { KNATIVE_SERVING_NAMESPACE } from '../../../scenarios/knative-settings.ts';
import type { K8sObject } from '../chart/render.ts';
import { evaluateAll } from '../chart-check/evaluate.ts';
import { requirementsFor } from '../chart-check/requirements.ts';
import type { Reached, RunningCapture } from '../cluster/driver.ts';
import { driveTraffic, type TrafficRecord } from '../direktiv-api/traffic.ts';
import { trafficWorkflowId } from '../direktiv-api/workflow.ts';
import type { ConfigCheck, ConfigEvidence, PassivePathEvidence } from '../evidence/types.ts';
import type { KubeClient } from '../k8s/client.ts';
import type { KubeObject } from '../k8s/types.ts';
import { foreignClientCertificate } from '../lab/pki.ts';
import { knativePatches } from '../plan/knative-patches.ts';
import { layout } from '../plan/layout.ts';
import type { PlanStep } from '../plan/types.ts';
import { probeTarget } from '../probe/probe.ts';
import type { ActivePathEvidence, ProbeCredentials } from '../probe/types.ts';
import type { CaptureSummary } from '../report/types.ts';
import { clusterTarget } from './cluster-targets.ts';
import { type Action, need, type RunContext, type ScenarioRun } from './context.ts';
import { ingressApi, ingressGet, secretKey } from './ingress.ts';

/** What the evidence steps leave on a scenario's record. */
export interface ClusterEvidence {
  capture?: RunningCapture;
  pcap?: string;
  /** Pod IP -> component, taken right after the traffic (pod jobs vanish 60 s after they finish). */
  addresses?: Record<string, Component>;
  passive?: Partial<Record<PathId, PassivePathEvidence>>;
  passiveSummary?: string;
  captureSummary?: CaptureSummary;
  active?: Partial<Record<PathId, ActivePathEvidence>>;
  config?: Partial<Record<PathId, ConfigEvidence>>;
  knativeService?: string;
}

const runOf = (ctx: RunContext, step: PlanStep): ScenarioRun => {
  const r = ctx.scenarios.get(step.scenario ?? '');
  if (!r) throw new Error(`internal: step ${step.id} has no scenario`);
  return r;
};
export const evidenceOf = (r: ScenarioRun): ClusterEvidence => r.evidence as ClusterEvidence;

/** Pod IP -> the Direktiv component it runs (labels of chart v0.4.1 and the functions controller). */
export function componentOfPod(pod: KubeObject, s: Scenario): Component | undefined {
  const l = pod.metadata.labels ?? {};
  const ns = pod.metadata.namespace;
  if (ns === s.namespace) {
    const name = l['app.kubernetes.io/name'];
    if (name === 'direktiv') return 'engine';
    if (name === 'direktiv-api') return 'api';
    if (name === 'direktiv-functions') return 'functions';
    if (name === 'direktiv-ui') return 'ui';
  }
  if (ns === s.serviceNamespace) {
    if (l['serving.knative.dev/service']) return 'sidecar';
    if (l['direktiv.io/job'] === 'true') return 'init-pod';
  }
  // net-contour probes every Envoy pod over plain HTTP while reconciling (lister.go @ v0.25.0).
  if (ns === KNATIVE_SERVING_NAMESPACE) return 'knative-controller';
  if (ns === 'contour-internal' && l.app === 'envoy') return 'envoy-internal';
  if (ns === 'contour-external' && l.app === 'envoy') return 'envoy-external';
  return undefined;
}

async function addressMap(client: KubeClient, s: Scenario): Promise<Record<string, Component>> {
  const out: Record<string, Component> = {};
  // The node's own addresses: the kubelet's readiness probes of the API and UI come from there.
  for (const node of await client.list('v1', 'Node')) {
    for (const a of (node.status as { addresses?: { type: string; address: string }[] } | undefined)
      ?.addresses ?? []) {
      if (a.type === 'InternalIP') out[a.address] = 'kubelet';
    }
  }
  for (const ns of new Set([
    s.namespace,
    s.serviceNamespace,
    'contour-internal',
    'contour-external',
    KNATIVE_SERVING_NAMESPACE,
  ])) {
    for (const pod of await client.list('v1', 'Pod', { namespace: ns })) {
      const ip = (pod.status as { podIP?: string } | undefined)?.podIP;
      const c = componentOfPod(pod, s);
      if (ip && c) out[ip] = c;
    }
  }
  return out;
}

export const evidenceActions: Record<string, Action> = {
  async 'capture.start'(ctx, step, s) {
    const run = runOf(ctx, step);
    const ev = evidenceOf(run);
    const pcap = join(ctx.out, layout.pcap(run.scenario.name));
    const capture = await ctx.driver.startCapture(ctx, run, pcap);
    ev.capture = capture;
    ev.pcap = pcap;
    s.onCleanup(capture.cleanupTitle, () => capture.cleanup());
    s.note(capture.listening);
  },

  async 'traffic.drive'(ctx, step, s) {
    const run = runOf(ctx, step);
    const sc = run.scenario;
    const client = need(ctx.client, 'client');
    const api = await ingressApi(ctx, client, sc, { onRetry: s.note, signal: s.signal });
    const record: TrafficRecord = await driveTraffic(api, {
      viaIngress: true,
      workflow: {
        id: trafficWorkflowId(sc),
        knativeImage: ctx.opts.knativeImage,
        isolatedImage: ctx.opts.isolatedImage,
      },
      onProgress: s.note,
    });
    run.traffic = record;
    // The workflow traffic never asks for the UI: one page load puts ingress->ui on the wire too.
    try {
      s.note(`UI through the ingress: HTTP ${await ingressGet(ctx, client, sc, '/')}`);
    } catch (e) {
      run.notes.push(`ingress->ui: the UI page load through the ingress failed: ${(e as Error).message}`);
    }
    // Pod IPs now, while the pod function's Job still exists (TTL 60 s).
    evidenceOf(run).addresses = await addressMap(client, sc);
    const ksvc = await client.list('serving.knative.dev/v1', 'Service', { namespace: sc.serviceNamespace });
    const name = ksvc[0]?.metadata.name;
    if (name) evidenceOf(run).knativeService = name;
    if (!record.ok)
      throw new Error(`traffic failed: ${record.error ?? 'a step failed'} (see the report's traffic steps)`);
  },

  async 'capture.stop'(ctx, step, s) {
    const run = runOf(ctx, step);
    const ev = evidenceOf(run);
    if (!ev.capture || !ev.pcap) return; // capture never started: nothing to stop
    const { passive, summary, line } = await ev.capture.stop(s);
    ev.passive = passive;
    ev.captureSummary = summary;
    ev.passiveSummary = line;
    s.note(line);
  },

  async 'probe.active'(ctx, step, s) {
    const run = runOf(ctx, step);
    const sc = run.scenario;
    const client = need(ctx.client, 'client');
    const ev = evidenceOf(run);
    ev.active = {};
    const foreign = await foreignClientCertificate();
    for (const path of PATH_IDS) {
      const t = clusterTarget(path, sc, { ...ctx.opts, knativeService: ev.knativeService });
      if (t.kind === 'none') {
        run.notes.push(`${path}: no active probe: ${t.why}`);
        continue;
      }
      const expected = sc.expected[path];
      const creds: ProbeCredentials = {};
      const ca = t.ca && (await secretKey(client, t.ca, 'ca.crt'));
      if (ca) creds.ca = ca;
      if (t.kind === 'service' && t.clientCert && expected.state === 'mtls') {
        const cert = await secretKey(client, t.clientCert, 'tls.crt');
        const key = await secretKey(client, t.clientCert, 'tls.key');
        if (cert && key) creds.clientCert = { cert, key };
        creds.foreignClientCert = { cert: foreign['tls.crt'], key: foreign['tls.key'] };
      }
      let reached: Reached | undefined;
      try {
        reached = await ctx.driver.reach(ctx, run, path, t, s);
        ev.active[path] = await probeTarget(reached.target, expected, creds, { path, timeoutMs: 5000 });
        s.note(`${path}: observed ${ev.active[path]?.observed}, expected ${expected.state}`);
      } catch (e) {
        run.notes.push(`${path}: probe could not run: ${(e as Error).message}`);
      } finally {
        reached?.close();
      }
    }
  },

  async 'config.evidence'(ctx, step) {
    const run = runOf(ctx, step);
    const sc = run.scenario;
    const client = need(ctx.client, 'client');
    const config: Partial<Record<PathId, ConfigEvidence>> = {};
    const add = (path: PathId, ok: boolean, finding: string | null, check: ConfigCheck) => {
      config[path] ??= { kind: 'config', path, ok: true, findings: [], checks: [] };
      const c = config[path];
      c.checks?.push(check);
      if (!ok) {
        c.ok = false;
        if (finding) c.findings.push(finding);
      }
    };
    // Direktiv's live objects exist only where its chart could be installed.
    const chartBlocked = ctx.blocked?.direktiv;
    if (chartBlocked) {
      run.notes.push(`configuration evidence of Direktiv's objects: blocked (${chartBlocked})`);
    } else {
      const live: K8sObject[] = [];
      for (const [apiVersion, kind] of [
        ['apps/v1', 'Deployment'],
        ['v1', 'Service'],
        ['v1', 'ConfigMap'],
        ['networking.k8s.io/v1', 'Ingress'],
      ] as const) {
        for (const o of await client.list(apiVersion, kind, { namespace: sc.namespace }))
          live.push(o as K8sObject);
      }
      for (const { requirement: r, result } of evaluateAll(requirementsFor(sc), live)) {
        const finding = `${r.object}: ${r.what} (live: ${result.actual})`;
        const check = {
          ok: result.ok,
          object: r.object,
          what: r.what,
          live: result.actual,
          source: r.because,
        };
        for (const p of requirementPaths(`${r.what} ${r.because}`)) add(p, result.ok, finding, check);
      }
    }
    // The Knative settings the profile needs on the live ConfigMaps (config-contour, config-network).
    for (const p of knativePatches(sc)) {
      const cm = await client.getOrNull({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: p.namespace,
        name: p.configMap,
      });
      const data = (cm?.data ?? {}) as Record<string, string>;
      for (const [k, want] of Object.entries(p.data)) {
        const have = data[k] ?? null;
        const ok = have === want || (want === 'Enabled' && have === null);
        add(
          'engine->knative',
          ok,
          `ConfigMap ${p.namespace}/${p.configMap} ${k}: ${have ?? 'unset'}, the profile needs ${want ?? 'unset'}`,
          {
            ok,
            object: `ConfigMap ${p.namespace}/${p.configMap}`,
            what: `${k}: ${want ?? 'unset'}`,
            live: have ?? 'unset',
            source: 'scenarios/knative-settings.ts (Knative patches of the profile)',
          },
        );
      }
    }
    evidenceOf(run).config = config;
  },
};

/**
 * The paths a chart requirement concerns: the path IDs it names, else the paths whose controlling
 * values it names (PATHS[].controlledBy), else none (a requirement about no path is not path evidence).
 */
export function requirementPaths(text: string): PathId[] {
  const named = PATH_IDS.filter((p) => text.includes(p));
  if (named.length) return named;
  return PATH_IDS.filter((p) =>
    PATHS[p].controlledBy
      .split(',')
      .map((k) => k.trim())
      .some((k) => k.includes('.') && text.includes(k)),
  );
}
