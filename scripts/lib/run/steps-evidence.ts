// Actions of the evidence phases of a real run: capture on the node, real traffic through the
// API, active probes through port-forwards, configuration from the live objects. Each action
// stores what it saw on the scenario's record; the report step judges it (profileResult).
import { join } from 'node:path';
import { envoyNodePorts } from '../../../kind/cluster.ts';
import { type Component, PATH_IDS, PATHS, type PathId, type Scenario } from '../../../scenarios/index.ts';
import { analyzeCaptureFile } from '../capture/analyze.ts';
import { attributeFlows, passiveEvidence } from '../capture/attribute.ts';
import { CAPTURE_POD, ClusterCapture } from '../capture/cluster-capture.ts';
import type { K8sObject } from '../chart/render.ts';
import { evaluateAll } from '../chart-check/evaluate.ts';
import { requirementsFor } from '../chart-check/requirements.ts';
import { DirektivApi } from '../direktiv-api/client.ts';
import { driveTraffic, type TrafficRecord } from '../direktiv-api/traffic.ts';
import { trafficWorkflowId } from '../direktiv-api/workflow.ts';
import type { ConfigEvidence, PassivePathEvidence } from '../evidence/types.ts';
import type { KubeClient } from '../k8s/client.ts';
import { portForward } from '../k8s/portforward.ts';
import type { KubeObject } from '../k8s/types.ts';
import { foreignClientCertificate } from '../lab/pki.ts';
import { knativePatches } from '../plan/knative-patches.ts';
import { layout } from '../plan/layout.ts';
import type { PlanStep } from '../plan/types.ts';
import { probeTarget } from '../probe/probe.ts';
import type { ActivePathEvidence, ProbeCredentials, ProbeTarget } from '../probe/types.ts';
import type { CaptureSummary } from '../report/types.ts';
import { clusterTarget, type SecretName } from './cluster-targets.ts';
import { need, type RunContext, type ScenarioRun } from './context.ts';
import type { Action } from './steps-install.ts';

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

/** Reads one key of a Secret; only public parts are asked for, except a client key for mTLS probes. */
async function secretKey(client: KubeClient, s: SecretName, key: string): Promise<string | undefined> {
  const obj = await client.getOrNull({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: s.namespace,
    name: s.name,
  });
  const b64 = (obj?.data as Record<string, string> | undefined)?.[key];
  return b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
}

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
  if (ns === 'contour-internal' && l.app === 'envoy') return 'envoy-internal';
  if (ns === 'contour-external' && l.app === 'envoy') return 'envoy-external';
  return undefined;
}

async function addressMap(client: KubeClient, s: Scenario): Promise<Record<string, Component>> {
  const out: Record<string, Component> = {};
  for (const ns of new Set([s.namespace, s.serviceNamespace, 'contour-internal', 'contour-external'])) {
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
    const tlsIngress = sc.features.includes('ingress');
    const ca = tlsIngress
      ? await secretKey(client, { namespace: sc.namespace, name: 'direktiv-lb' }, 'ca.crt')
      : undefined;
    if (tlsIngress && !ca)
      throw new Error(
        `Secret ${sc.namespace}/direktiv-lb has no ca.crt: the ingress certificate was not issued`,
      );
    const api = new DirektivApi({
      baseUrl: tlsIngress
        ? `https://127.0.0.1:${ctx.opts.httpsPort}`
        : `http://127.0.0.1:${ctx.opts.httpPort}`,
      ...(ca ? { tls: { ca, servername: sc.ingressHost } } : {}),
      host: sc.ingressHost,
      onRetry: s.note,
      signal: s.signal,
    });
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
    const summary: CaptureSummary = {
      driver: `tcpdump -i any in pod ${CAPTURE_POD} on node ${ctx.opts.clusterName}-control-plane`,
      filter: 'tcp',
      scope:
        'the whole traffic phase of the run (workflow upload, Knative and pod function calls); probes ran after the capture stopped',
      packets: analysis.decode.tcp,
      flows: analysis.flows.length,
      file: ev.pcap,
      exempt: attr.exempt,
      unattributed: attr.unattributed,
      warnings: [...analysis.warnings],
    };
    if (stopped.captured !== undefined) summary.captured = stopped.captured;
    if (stopped.droppedByKernel !== undefined) {
      summary.droppedByKernel = stopped.droppedByKernel;
      if (stopped.droppedByKernel > 0) {
        summary.warnings.push(
          `${stopped.droppedByKernel} packets dropped by the kernel: flows may be missing bytes`,
        );
      }
    }
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
