// Actions of the evidence phases of a real run: capture on the node, real traffic through the
// API, active probes through port-forwards, configuration from the live objects. Each action
// stores what it saw on the scenario's record; the report step judges it (profileResult).
import { join } from 'node:path';
import { envoyNodePorts } from '../../../kind/cluster.ts';
import { useOf } from '../../../kind/images.ts';
import {
  type Component,
  dialName,
  PATH_IDS,
  PATHS,
  type PathId,
  type Scenario,
} from '../../../scenarios/index.ts';
import { KNATIVE_SERVING_NAMESPACE } from '../../../scenarios/knative-settings.ts';
import { analyzeCaptureFile } from '../capture/analyze.ts';
import { attributeFlows, passiveEvidence } from '../capture/attribute.ts';
import { CAPTURE_POD, ClusterCapture } from '../capture/cluster-capture.ts';
import { captureSummary } from '../capture/summary.ts';
import type { K8sObject } from '../chart/render.ts';
import { evaluateAll } from '../chart-check/evaluate.ts';
import { requirementsFor } from '../chart-check/requirements.ts';
import { driveTraffic, type TrafficRecord } from '../direktiv-api/traffic.ts';
import { trafficWorkflowId } from '../direktiv-api/workflow.ts';
import type { ConfigEvidence, PassivePathEvidence } from '../evidence/types.ts';
import type { KubeClient } from '../k8s/client.ts';
import { podProblemLines } from '../k8s/explain.ts';
import { portForward } from '../k8s/portforward.ts';
import type { KubeObject } from '../k8s/types.ts';
import { foreignClientCertificate } from '../lab/pki.ts';
import { knativePatches } from '../plan/knative-patches.ts';
import { layout } from '../plan/layout.ts';
import type { PlanStep } from '../plan/types.ts';
import { probeTarget } from '../probe/probe.ts';
import type { ActivePathEvidence, ProbeCredentials, ProbeTarget } from '../probe/types.ts';
import type { CaptureSummary } from '../report/types.ts';
import { clusterTarget } from './cluster-targets.ts';
import { need, type RunContext, type ScenarioRun } from './context.ts';
import type { StepContext } from './executor.ts';
import { ingressApi, ingressGet, secretKey } from './ingress.ts';
import { INIT_POD_PROBE, initPodProbeManifest } from './init-pod-probe.ts';
import type { Action } from './steps-install.ts';

/**
 * The node capture's filter. The pcap streams back through kubectl exec, so the capture would see
 * its own output (containerd -> kubelet on loopback, kubelet <-> API server on 10250, API server
 * -> kubectl on 6443) and grow without bound; etcd is noise. No Direktiv path uses these.
 */
export const NODE_CAPTURE_FILTER =
  'tcp and not port 6443 and not port 10250 and not port 2379 and not port 2380 and not (src host 127.0.0.1 and dst host 127.0.0.1)';

/** What the evidence steps leave on a scenario's record. */
export interface ClusterEvidence {
  capture?: ClusterCapture;
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
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(pcap, '..'), { recursive: true });
    const capture = new ClusterCapture({
      node: `${ctx.opts.clusterName}-control-plane`,
      outFile: pcap,
      kubectl: need(ctx.tools, 'tools').kubectl.path,
      kubeconfig: ctx.paths.kubeconfig,
      image: useOf(ctx.overrides, 'harness.capture'),
      filter: NODE_CAPTURE_FILTER,
    });
    await capture.start();
    ev.capture = capture;
    ev.pcap = pcap;
    s.onCleanup('delete the capture pod', () => capture.cleanup());
    s.note(`tcpdump listening on the node (${capture.listening?.iface ?? 'any'})`);
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
    const stopped = await ev.capture.stop();
    s.note(
      `capture: ${stopped.captured ?? '?'} packets, ${stopped.droppedByKernel ?? 0} dropped by the kernel`,
    );
    const analysis = analyzeCaptureFile(ev.pcap, {
      serverPorts: new Set(PATH_IDS.flatMap((p) => [PATHS[p].port, PATHS[p].plainPort ?? PATHS[p].port])),
    });
    const attr = attributeFlows(analysis.flows, {
      serverComponents: ev.addresses ?? {},
      clientComponents: ev.addresses ?? {},
      // Host traffic reaches the node on the NodePorts; after kube-proxy's DNAT the Envoy pods
      // listen on 8080/8443 (both Envoys: the address maps tell them apart).
      extraPorts: {
        'client->ingress': [envoyNodePorts.http, envoyNodePorts.https, 8080, 8443],
        'engine->knative': [8080, 8443],
      },
    });
    ev.passive = Object.fromEntries(PATH_IDS.map((p) => [p, passiveEvidence(attr, p)]));
    const summary = captureSummary({
      driver: `tcpdump -i any in pod ${CAPTURE_POD} on node ${ctx.opts.clusterName}-control-plane`,
      filter: NODE_CAPTURE_FILTER,
      scope:
        'the whole traffic phase of the run (workflow upload, Knative and pod function calls); probes ran after the capture stopped',
      analysis,
      attribution: attr,
      stats: stopped,
    });
    summary.file = ev.pcap;
    ev.captureSummary = summary;
    ev.passiveSummary = `${analysis.flows.length} flows; ${attr.exempt.reduce((n, e) => n + e.flows.length, 0)} exempt, ${attr.unattributed.length} unattributed, ${attr.ambiguous.length} ambiguous`;
    s.note(ev.passiveSummary);
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
      const forwards: { close(): void }[] = [];
      try {
        let target: ProbeTarget;
        if (t.kind === 'host') {
          target = {
            protocol: t.protocol,
            address: '127.0.0.1',
            port: t.port,
            plainPort: t.plainPort,
            displayPort: 443,
            displayPlainPort: 80,
            serverName: t.serverName,
            httpPath: t.httpPath,
          };
        } else if (t.kind === 'init-pod') {
          const { pod, ip } = await startInitPodProbe(ctx, client, sc, s.onCleanup);
          const fwd = await portForward(client, { namespace: t.namespace, pod, port: t.port, verify: false });
          forwards.push(fwd);
          target = {
            protocol: t.protocol,
            address: '127.0.0.1',
            port: fwd.localPort,
            displayPort: t.port,
            // doPodHTTPRequest dials https://<a-b-c-d>.<service namespace>.pod:8890
            serverName: dialName(path, sc.namespace, sc.serviceNamespace, {
              ingressHost: sc.ingressHost,
              podIp: ip,
            }),
            httpPath: t.httpPath,
          };
        } else {
          // Port-forward (verify:false: an extra empty connection would show up in the capture).
          const main = await portForward(client, {
            namespace: t.namespace,
            service: t.service,
            port: t.port,
            verify: false,
          });
          forwards.push(main);
          target = {
            protocol: t.protocol,
            address: '127.0.0.1',
            port: main.localPort,
            displayPort: t.port,
            serverName: t.serverName,
            ...(t.httpPath ? { httpPath: t.httpPath } : {}),
          };
          if (t.plainPort) {
            const plain = await portForward(client, {
              namespace: t.namespace,
              service: t.service,
              port: t.plainPort,
              verify: false,
            });
            forwards.push(plain);
            target.plainPort = plain.localPort;
            target.displayPlainPort = t.plainPort;
          }
        }
        ev.active[path] = await probeTarget(target, expected, creds, { path, timeoutMs: 5000 });
        s.note(`${path}: observed ${ev.active[path]?.observed}, expected ${expected.state}`);
      } catch (e) {
        run.notes.push(`${path}: probe could not run: ${(e as Error).message}`);
      } finally {
        for (const f of forwards) f.close();
      }
    }
  },

  async 'config.evidence'(ctx, step) {
    const run = runOf(ctx, step);
    const sc = run.scenario;
    const client = need(ctx.client, 'client');
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
    const results = evaluateAll(requirementsFor(sc), live);
    const config: Partial<Record<PathId, ConfigEvidence>> = {};
    const add = (path: PathId, ok: boolean, finding: string | null) => {
      config[path] ??= { kind: 'config', path, ok: true, findings: [] };
      const c = config[path];
      if (!ok) {
        c.ok = false;
        if (finding) c.findings.push(finding);
      }
    };
    for (const { requirement: r, result } of results) {
      const finding = `${r.object}: ${r.what} (live: ${result.actual})`;
      for (const p of requirementPaths(`${r.what} ${r.because}`)) add(p, result.ok, finding);
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

/** Starts the init-pod replica and waits until its server runs; returns the pod and its IP. */
async function startInitPodProbe(
  ctx: RunContext,
  client: KubeClient,
  sc: Scenario,
  onCleanup: StepContext['onCleanup'],
): Promise<{ pod: string; ip: string }> {
  const cm = await client.getOrNull({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: sc.namespace,
    name: 'direktiv-config-grpc',
  });
  // The functions controller hands job pods the engine's flow endpoint from this ConfigMap.
  const grpcYaml = String((cm?.data as Record<string, string> | undefined)?.['grpc-config.yaml'] ?? '');
  const endpoint =
    /flow-enpoint:\s*(\S+)/.exec(grpcYaml)?.[1] ?? `dns2:///direktiv-flow-hl.${sc.namespace}:7777`;
  const ref = { apiVersion: 'v1', kind: 'Pod', namespace: sc.serviceNamespace, name: INIT_POD_PROBE };
  // A replica left by an earlier profile of the same run (or an interrupted run) goes first:
  // a Pod's spec cannot be changed in place, and a terminating one cannot be applied over.
  if (await client.getOrNull(ref)) {
    await client.delete(ref).catch(() => undefined);
    const gone = Date.now() + 90_000;
    while ((await client.getOrNull(ref)) && Date.now() < gone) await new Promise((r) => setTimeout(r, 1000));
  }
  await client.apply(initPodProbeManifest(sc, ctx.overrides, endpoint));
  onCleanup(`delete pod ${sc.serviceNamespace}/${INIT_POD_PROBE}`, async () => {
    await client.delete(ref).catch((e: Error) => {
      if (!/not ?found/i.test(e.message)) throw e;
    });
  });
  const deadline = Date.now() + 180_000;
  let last: KubeObject | null = null;
  while (Date.now() < deadline) {
    last = await client.getOrNull(ref);
    const st = (last?.status ?? {}) as {
      phase?: string;
      podIP?: string;
      containerStatuses?: { ready?: boolean; state?: { running?: unknown } }[];
    };
    if (st.phase === 'Running' && st.podIP && st.containerStatuses?.[0]?.state?.running) {
      return { pod: INIT_POD_PROBE, ip: st.podIP };
    }
    if (st.phase === 'Failed' || st.phase === 'Succeeded') break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const why = last
    ? podProblemLines(last).join('; ') || `phase ${String((last.status as { phase?: string })?.phase)}`
    : 'not found';
  throw new Error(
    `the init-pod replica ${sc.serviceNamespace}/${INIT_POD_PROBE} did not start its server: ${why}`,
  );
}
