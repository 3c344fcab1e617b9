// The control-plane driver: a real Kubernetes control plane of local processes (cp-build's
// scripts/lib/control-plane), built from the Go module proxy. What the cluster cannot run itself
// runs beside it: cert-manager's controller, webhook and cainjector as local processes, and in
// place of Direktiv's servers and Envoy (not buildable here: see BLOCKED_FACTS) the lab's stand-in
// servers and clients, serving the certificates the real cert-manager issued. The host reaches a
// path at its stand-in's loopback address; the capture is tcpdump on lo.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { sourceModulePins, toolPins, upstreamPins } from '../../../kind/versions.ts';
import { PATH_IDS, type PathId, type Scenario } from '../../../scenarios/index.ts';
import { KNATIVE_SERVING_NAMESPACE } from '../../../scenarios/knative-settings.ts';
import { analyzeCaptureFile } from '../capture/analyze.ts';
import { attributeFlows, passiveEvidence } from '../capture/attribute.ts';
import { captureSummary } from '../capture/summary.ts';
import { type LocalCapture, startCapture } from '../capture/tcpdump.ts';
import { CERT_MANAGER_NAMESPACE } from '../chart/render.ts';
import {
  type BuiltPrograms,
  buildComponents,
  type ControlPlane,
  defaultStateDir,
  keep,
  startControlPlane,
} from '../control-plane/index.ts';
import type { PassivePathEvidence } from '../evidence/types.ts';
import { KubeClient } from '../k8s/client.ts';
import type { KubeObject } from '../k8s/types.ts';
import { captureFilter, labListeners, loopbackInterface } from '../lab/capture.ts';
import { type Lab, runLabRealClient, startLab } from '../lab/lab.ts';
import { LabPki, type SecretData } from '../lab/pki.ts';
import { PreflightError } from '../preflight/index.ts';
import type { ToolPaths } from '../preflight/tools.ts';
import { type Action, need, type RunContext, type ScenarioRun } from '../run/context.ts';
import { helmForRendering } from '../run/helm-path.ts';
import { projectRoot } from '../tools/fsutil.ts';
import { BLOCKED_FACTS } from './control-plane-plan.ts';
import type { ClusterDriver, Component, Reached, RunningCapture } from './driver.ts';

const UPSTREAM = join(projectRoot, 'tools', 'upstream');

/** `go mod download -json <args>`: the module's folder in the module cache, or the proxy's exact error. */
export async function goModDownload(
  args: string[],
  opts: { cwd?: string; go?: string; signal?: AbortSignal } = {},
): Promise<{ dir?: Record<string, string>; error?: string }> {
  const r = await execa(opts.go ?? 'go', ['mod', 'download', '-json', ...args], {
    cwd: opts.cwd ?? tmpdir(),
    // Outside a module: module mode without a go.mod; inside tools/upstream/<dir>: go.sum verifies.
    env: { GOFLAGS: opts.cwd ? '-mod=readonly' : '-mod=mod', GO111MODULE: 'on' },
    reject: false,
    stdin: 'ignore',
    cancelSignal: opts.signal,
    timeout: 600_000,
  });
  const dir: Record<string, string> = {};
  const errors: string[] = [];
  // -json prints one object per module, concatenated.
  for (const m of String(r.stdout).matchAll(/\{[\s\S]*?\n\}/g)) {
    const o = JSON.parse(m[0]) as { Path: string; Dir?: string; Error?: string };
    if (o.Error) errors.push(o.Error);
    else if (o.Dir) dir[o.Path] = o.Dir;
  }
  if (r.exitCode !== 0 && errors.length === 0) errors.push(String(r.stderr).trim() || `exit ${r.exitCode}`);
  return errors.length ? { error: errors.join('; ') } : { dir };
}

function yamlObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => Boolean(o?.kind));
}

async function yamlFiles(dir: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.yaml')).sort())
    out.push(...yamlObjects(await readFile(join(dir, f), 'utf8')));
  return out;
}

/**
 * Knative's objects that exist without its controllers, from the served modules, in the namespace
 * Direktiv's Knative chart uses (knative-serving-<release>): Serving's CRDs, config-network,
 * config-contour, and Contour's CRDs (net-contour bundles Contour's release YAML).
 */
export async function knativeObjectsFrom(dirs: {
  serving: string;
  networking: string;
  netContour: string;
}): Promise<KubeObject[]> {
  const rename = (o: KubeObject): KubeObject =>
    o.metadata.namespace === 'knative-serving'
      ? { ...o, metadata: { ...o.metadata, namespace: KNATIVE_SERVING_NAMESPACE } }
      : o;
  const crds = (os: KubeObject[]) => os.filter((o) => o.kind === 'CustomResourceDefinition');
  const contour = [
    ...(await yamlFiles(join(dirs.netContour, 'config', 'contour'))).filter((o) => o.kind === 'Namespace'),
    ...crds(await yamlFiles(join(dirs.netContour, 'config', 'contour'))),
  ];
  const byName = new Map<string, KubeObject>();
  for (const o of [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: KNATIVE_SERVING_NAMESPACE } } as KubeObject,
    ...contour,
    ...crds(await yamlFiles(join(dirs.serving, 'config', 'core', '300-resources'))),
    ...yamlObjects(await readFile(join(dirs.networking, 'config', 'config-network.yaml'), 'utf8')),
    ...yamlObjects(await readFile(join(dirs.netContour, 'config', 'config-contour.yaml'), 'utf8')),
  ].map(rename))
    byName.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
  return [...byName.values()];
}

/** Every TLS Secret of the namespaces a profile issues into, keyed `namespace/name`. */
async function issuedSecrets(client: KubeClient, sc: Scenario): Promise<Map<string, SecretData>> {
  const out = new Map<string, SecretData>();
  for (const ns of new Set([sc.namespace, sc.serviceNamespace, CERT_MANAGER_NAMESPACE, 'contour-internal'])) {
    for (const s of await client.list('v1', 'Secret', { namespace: ns })) {
      const d = (s.data ?? {}) as Record<string, string>;
      if (!d['tls.crt'] || !d['tls.key']) continue;
      const text = (k: string) => (d[k] ? Buffer.from(d[k], 'base64').toString('utf8') : '');
      out.set(`${ns}/${s.metadata.name}`, {
        'tls.crt': text('tls.crt'),
        'tls.key': text('tls.key'),
        'ca.crt': text('ca.crt'),
      });
    }
  }
  return out;
}

/** Who serves and who calls each path on the control plane: the lab's stand-ins, every one. */
export const STAND_IN_ACTORS = { server: 'stand-in', client: 'stand-in' } as const;

/** The stand-ins a control-plane run uses, for the components list. */
export const STAND_INS: Component[] = [
  {
    name: 'direktiv engine, API, functions, UI, init-pod (servers)',
    version: 'lab',
    source: 'stand-in: scripts/lib/lab/servers.ts, configured as Direktiv v0.4.1 configures them',
  },
  {
    name: 'contour-external and contour-internal Envoy (servers)',
    version: 'lab',
    source: 'stand-in: scripts/lib/lab/servers.ts, configured as Contour 1.14 configures Envoy',
  },
  {
    name: 'direktiv API, engine, sidecar, init-pod, Envoy (clients)',
    version: 'lab',
    source: 'stand-in: scripts/lib/lab/clients.ts',
  },
];

export interface ControlPlaneDriverOptions {
  stateDir?: string;
  /** The `go` binary (default: go on PATH). */
  go?: string;
}

export function controlPlaneDriver(o: ControlPlaneDriverOptions = {}): ClusterDriver {
  const stateDir = o.stateDir ?? defaultStateDir();
  const go = o.go ?? 'go';
  let cp: ControlPlane | undefined;
  // What ran, as last seen while it ran: the report is written after teardown has stopped it.
  let ran: Component[] = [];
  const seen = () => {
    const now = cp?.components() ?? [];
    if (now.length >= ran.length) ran = now;
  };
  let programs: BuiltPrograms = {};
  let goVersion = '';
  let helm: { path: string; version: string; source: string } | undefined;
  const modules: Record<string, string> = {};
  const labs = new Map<string, Lab>();
  const labOf = (run: ScenarioRun): Lab => {
    const lab = labs.get(run.scenario.name);
    if (!lab)
      throw new Error(`the stand-ins of ${run.scenario.name} are not running (stand-ins.start did not run)`);
    return lab;
  };
  const blocked = (ctx: RunContext) => {
    ctx.blocked ??= {};
    return ctx.blocked;
  };

  const actions: Record<string, Action> = {
    async 'preflight.go'(ctx, _step, s) {
      s.note(`${goVersion}, GOPROXY ${process.env.GOPROXY ?? '(go default)'}`);
      // A fact, not a check: Envoy is C++ and no Go module builds it.
      blocked(ctx).envoy = BLOCKED_FACTS.envoy;
    },
    async 'preflight.tools'(_ctx, _step, s) {
      const path = await helmForRendering(s.note);
      helm = { path, version: toolPins.helm.version, source: 'pinned helm release (sha256-verified)' };
      s.note(`helm ${helm.version}: ${path}`);
    },
    async 'preflight.charts'(ctx, _step, s) {
      const d = sourceModulePins.direktiv;
      const r = await goModDownload([`${d.module}@${d.version}`], { go, signal: s.signal });
      // The exact answer of the proxy is the reason every Direktiv step reports.
      blocked(ctx).direktiv = r.error
        ? r.error
        : `${d.module}@${d.version} is served now (${r.dir?.[d.module]}), but running Direktiv's servers as local processes is not implemented yet`;
      s.note(`${d.module}@${d.version}: ${r.error ? `not available: ${r.error}` : 'downloaded'}`);
      const kn = await goModDownload(
        [
          sourceModulePins.knativeServing.module,
          sourceModulePins.knativeNetworking.module,
          sourceModulePins.netContour.module,
        ],
        { cwd: join(UPSTREAM, 'knative'), go, signal: s.signal },
      );
      if (kn.error) throw new Error(`cannot download Knative's modules: ${kn.error}`);
      Object.assign(modules, kn.dir);
      const cmr = await goModDownload([upstreamPins.certManager.module], {
        cwd: join(UPSTREAM, upstreamPins.certManager.dir),
        go,
        signal: s.signal,
      });
      if (cmr.error) throw new Error(`cannot download cert-manager's module: ${cmr.error}`);
      Object.assign(modules, cmr.dir);
    },
    async 'preflight.build'(ctx, _step, s) {
      programs = await buildComponents(s.note, { go, signal: s.signal });
      const kubectl = programs.kubectl;
      if (!kubectl) throw new Error('internal: the build returned no kubectl');
      const h = need(helm, 'helm');
      ctx.tools = {
        helm: { name: 'helm', version: h.version, path: h.path, source: h.source },
        kubectl: {
          name: 'kubectl',
          version: upstreamPins.kubernetes.version,
          path: kubectl,
          source: `built from ${upstreamPins.kubernetes.module}@${upstreamPins.kubernetes.version}`,
        },
      } as unknown as ToolPaths;
      s.note(`${Object.keys(programs).length} programs ready`);
    },
    async 'cluster.create'(ctx, _step, s) {
      cp = await startControlPlane({ stateDir, log: s.note, signal: s.signal });
      seen();
      const started = cp;
      s.onCleanup('stop the control plane', () => started.stop());
      ctx.paths = { dir: cp.stateDir, kubeconfig: cp.kubeconfig, marker: '', kindConfig: '' };
      ctx.client = KubeClient.fromKubeconfig(cp.kubeconfig);
      s.note(`kubeconfig: ${cp.kubeconfig}`);
    },
    async 'knative.objects'(ctx, _step, s) {
      const objects = await knativeObjectsFrom({
        serving: need(modules[sourceModulePins.knativeServing.module], 'knative.dev/serving'),
        networking: need(modules[sourceModulePins.knativeNetworking.module], 'knative.dev/networking'),
        netContour: need(modules[sourceModulePins.netContour.module], 'knative.dev/net-contour'),
      });
      await need(ctx.client, 'client').applyAll(objects);
      s.note(`${objects.length} objects applied: ${[...new Set(objects.map((o) => o.kind))].join(', ')}`);
    },
    async 'stand-ins.start'(ctx, step, s) {
      const run = need(ctx.scenarios.get(step.scenario ?? ''), 'scenario');
      const sc = run.scenario;
      // A profile switch: the previous profile's stand-ins stop first (their pods would restart).
      for (const [name, lab] of labs) {
        await lab.stop();
        labs.delete(name);
      }
      const secrets = await issuedSecrets(need(ctx.client, 'client'), sc);
      const profileCa = secrets.has(`${CERT_MANAGER_NAMESPACE}/direktiv-ca`)
        ? { namespace: CERT_MANAGER_NAMESPACE, secretName: 'direktiv-ca' }
        : undefined;
      const pki = await LabPki.fromSecrets(`${sc.name}/cluster`, secrets, profileCa);
      const lab = await startLab(sc, { pki });
      labs.set(sc.name, lab);
      s.onCleanup(`stop the stand-ins of ${sc.name}`, async () => {
        await lab.stop();
        labs.delete(sc.name);
      });
      for (const n of lab.notes) run.notes.push(`stand-ins: ${n}`);
      s.note(
        `${PATH_IDS.length} stand-in listeners on 127.0.0.1 with ${secrets.size} Secrets cert-manager issued`,
      );
    },
    async 'stand-ins.traffic'(ctx, step, s) {
      const run = need(ctx.scenarios.get(step.scenario ?? ''), 'scenario');
      const lab = labOf(run);
      for (const id of PATH_IDS) {
        const r = await runLabRealClient(lab, id);
        s.note(`${id}: ${r.client} ${r.accepted ? 'called' : 'failed'}${r.detail ? `: ${r.detail}` : ''}`);
      }
    },
    async 'teardown.cluster'() {
      // Stopping the control plane is the cleanup cluster.create registered (skipped by --keep).
    },
  };

  return {
    name: 'control-plane',
    actions,
    async precheck() {
      const r = await execa(go, ['env', 'GOVERSION'], { reject: false, stdin: 'ignore' }).catch(
        () => undefined,
      );
      if (r?.exitCode !== 0 || !String(r.stdout).trim()) {
        throw new PreflightError(
          'go',
          `Go is not usable (\`${go} env GOVERSION\`: ${String(r?.stderr || 'go not found').split('\n')[0]})`,
          'The control-plane run builds its programs from the Go module proxy: install Go 1.22 or newer (https://go.dev/dl/) and put go on PATH.',
        );
      }
      goVersion = String(r.stdout).trim();
    },
    async certManagerObjects(_ctx) {
      // Rendered by the control plane from the pinned module's chart and CRDs, with the webhook
      // configurations pointing at the loopback webhook (there is no kube-proxy to reach a Service).
      const objects = await need(cp, 'control plane').certManagerManifests(need(helm, 'helm').path);
      const cm = upstreamPins.certManager;
      return {
        objects,
        source: `${cm.module}@${cm.version} (its chart and deploy/crds; controller, webhook and cainjector run as local processes)`,
      };
    },
    async startWorkloads(_ctx, what) {
      if (what === 'cert-manager') await need(cp, 'control plane').startCertManager();
      seen();
    },
    ingress(ctx) {
      const run = [...ctx.scenarios.values()].find((r) => labs.has(r.scenario.name));
      const t = run ? labOf(run).endpoints['client->ingress'].target : undefined;
      return { address: '127.0.0.1', httpPort: t?.plainPort ?? 0, httpsPort: t?.port ?? 0 };
    },
    async reach(_ctx, run, path): Promise<Reached> {
      // The stand-in listens on loopback with the name the real client dials as its SNI.
      return { target: { ...labOf(run).endpoints[path].target }, close() {} };
    },
    async startCapture(_ctx, run, pcap) {
      return loopbackCapture(labOf(run), pcap);
    },
    async kept() {
      if (!cp) return 'nothing was started: nothing kept';
      await keep(cp);
      return `kubeconfig: ${cp.kubeconfig}\ncontrol plane kept (state ${cp.stateDir}): npm run control-plane -- --down stops it`;
    },
    components() {
      const k8s = upstreamPins.kubernetes;
      seen();
      const fromCp = ran;
      return [
        ...fromCp,
        ...(fromCp.some((c) => c.name === 'kubectl')
          ? []
          : [{ name: 'kubectl', version: k8s.version, source: `built from ${k8s.module}@${k8s.version}` }]),
        { name: 'helm', version: toolPins.helm.version, source: helm?.source ?? 'pinned helm release' },
        ...[
          sourceModulePins.knativeServing,
          sourceModulePins.knativeNetworking,
          sourceModulePins.netContour,
        ].map((p) => ({
          name: `${p.module} manifests`,
          version: p.version,
          source: `read from ${p.module}@${p.version}`,
        })),
        ...STAND_INS,
      ];
    },
    actors() {
      return Object.fromEntries(PATH_IDS.map((p) => [p, { ...STAND_IN_ACTORS }])) as Record<
        PathId,
        { server: string; client: string }
      >;
    },
  };
}

/** tcpdump on lo, filtered to the stand-ins' ports; flows attributed to paths by port. */
async function loopbackCapture(lab: Lab, pcap: string): Promise<RunningCapture> {
  const listeners = labListeners(lab);
  const ports = new Map(listeners.map((l) => [l.port, l.path]));
  const filter = captureFilter([...ports.keys()]);
  const iface = loopbackInterface();
  await mkdir(join(pcap, '..'), { recursive: true });
  const cap: LocalCapture = await startCapture({ iface, file: pcap, filter, startTimeoutMs: 10_000 });
  return {
    listening: `tcpdump listening on ${iface} (${ports.size} stand-in ports)`,
    cleanupTitle: 'stop tcpdump on lo',
    cleanup: async () => cap.kill(),
    async stop(s) {
      const stopped = await cap.stop({ settleMs: 100, timeoutMs: 5000 });
      s.note(
        `capture: ${stopped.captured ?? '?'} packets, ${stopped.droppedByKernel ?? 0} dropped by the kernel`,
      );
      const analysis = analyzeCaptureFile(pcap, { serverPorts: new Set(ports.keys()) });
      const attr = attributeFlows(analysis.flows, { ports });
      const passive = {} as Record<PathId, PassivePathEvidence>;
      for (const id of PATH_IDS) {
        const ev = passiveEvidence(attr, id);
        ev.tlsPort = lab.endpoints[id].target.port;
        passive[id] = ev;
      }
      const summary = captureSummary({
        driver: `tcpdump on ${iface}`,
        filter,
        scope: "the stand-in clients' calls only; the probes ran after the capture stopped",
        analysis,
        attribution: attr,
        stats: stopped,
      });
      summary.listeners = listeners.map((l) => ({ port: l.port, path: l.path, standsFor: l.standsFor }));
      summary.file = pcap;
      const line = `${analysis.flows.length} flows; ${attr.exempt.reduce((n, e) => n + e.flows.length, 0)} exempt, ${attr.unattributed.length} unattributed`;
      return { passive, summary, line };
    },
  };
}
