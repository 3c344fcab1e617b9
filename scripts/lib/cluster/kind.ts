// The kind driver: a kind cluster in Docker, as the nightly matrix and users with Docker run it.
// Its own steps (Docker, ports, tools, charts, images, the cluster and its images) and what the
// shared steps ask of a cluster: cert-manager's release manifest, port-forwards to the paths'
// Services, a tcpdump pod on the node, the ingress on kind's host port mappings.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { envoyNodePorts, kindClusterYaml, registryMirrorCommands } from '../../../kind/cluster.ts';
import { findImage, rewriteImages, useOf } from '../../../kind/images.ts';
import { certManagerPin, direktivPin, kindPin, nodeImagePin, toolPins } from '../../../kind/versions.ts';
import { CouldNotRunError, dialName, PATH_IDS, PATHS, type Scenario } from '../../../scenarios/index.ts';
import { analyzeCaptureFile } from '../capture/analyze.ts';
import { attributeFlows, passiveEvidence } from '../capture/attribute.ts';
import { CAPTURE_POD, ClusterCapture } from '../capture/cluster-capture.ts';
import { captureSummary } from '../capture/summary.ts';
import { helmTemplate } from '../chart/helm.ts';
import { YAML_READ_LIMITS } from '../chart/yaml-limits.ts';
import { fetchDirektivChart } from '../chart-check/fetch.ts';
import { KubeClient } from '../k8s/client.ts';
import { podProblemLines } from '../k8s/explain.ts';
import { portForward } from '../k8s/portforward.ts';
import type { KubeObject } from '../k8s/types.ts';
import {
  checkImages,
  imageCheckProblems,
  imageCheckTable,
  resolvedDigests,
} from '../preflight/image-check.ts';
import {
  checkDocker,
  checkDockerVersion,
  checkHostPorts,
  checkMemory,
  checkTools,
  createCluster,
  decideCluster,
  deleteClusterArgs,
  dockerMajor,
  exportKubeconfig,
  imagesToPull,
  ingressPorts,
  loadMissingImages,
  PreflightError,
  PreflightErrors,
  pullImages,
  removeMarker,
} from '../preflight/index.ts';
import type { ProbeTarget } from '../probe/types.ts';
import { RegistryClient } from '../registry/client.ts';
import { type Action, need, type RunContext, runTool } from '../run/context.ts';
import type { StepContext } from '../run/executor.ts';
import { INIT_POD_PROBE, initPodProbeManifest } from '../run/init-pod-probe.ts';
import { renderedImages } from '../run/rendered-images.ts';
import { clusterShapeHash, runDirektivValues, runImages } from '../run/steps-install.ts';
import type { ClusterDriver, Component, Reached, RunningCapture } from './driver.ts';

/**
 * The node capture's filter. The pcap streams back through kubectl exec, so the capture would see
 * its own output (containerd -> kubelet on loopback, kubelet <-> API server on 10250, API server
 * -> kubectl on 6443) and grow without bound; etcd is noise. No Direktiv path uses these.
 */
export const NODE_CAPTURE_FILTER =
  'tcp and not port 6443 and not port 10250 and not port 2379 and not port 2380 and not (src host 127.0.0.1 and dst host 127.0.0.1)';

const kindActions: Record<string, Action> = {
  async 'preflight.docker'(ctx, _step, s) {
    try {
      ctx.docker = await checkDocker(ctx.runner);
      checkDockerVersion(ctx.docker);
      checkMemory(ctx.docker);
    } catch (e) {
      throw asPlain(e);
    }
    s.note(
      `docker ${ctx.docker.serverVersion}, ${(ctx.docker.memTotalBytes / 1024 ** 3).toFixed(1)} GiB${ctx.docker.containerdImageStore ? ', containerd image store (images go in as archives)' : ''}`,
    );
  },
  async 'preflight.ports'(ctx, _step, s) {
    // A reused cluster already holds its ports; decide first (needs kind, so tools come first in code).
    ctx.tools ??= await checkTools({ log: s.note, runner: ctx.runner }).catch((e) => {
      throw asPlain(e);
    });
    ctx.cluster = await decideCluster(ctx.runner, {
      cluster: ctx.opts.clusterName,
      kind: ctx.tools.kind.path,
      httpPort: ctx.opts.httpPort,
      httpsPort: ctx.opts.httpsPort,
      pinsHash: clusterShapeHash(ctx),
    }).catch((e) => {
      throw asPlain(e);
    });
    s.note(ctx.cluster.reason);
    if (ctx.cluster.action === 'create') {
      const problems = await checkHostPorts(ingressPorts(ctx.opts.httpPort, ctx.opts.httpsPort));
      if (problems.length) throw asPlain(new PreflightErrors(problems));
    }
  },
  async 'preflight.tools'(ctx, _step, s) {
    ctx.tools ??= await checkTools({ log: s.note, runner: ctx.runner }).catch((e) => {
      throw asPlain(e);
    });
    for (const t of Object.values(ctx.tools))
      s.note(`${t.name} ${t.version} (${t.source}${t.verifiedBy ? `, ${t.verifiedBy}` : ''}): ${t.path}`);
  },
  async 'preflight.charts'(ctx, _step, s) {
    const ref = ctx.opts.direktivRef ?? direktivPin.ref;
    const fetched = await fetchDirektivChart({ ref });
    const knative = join(fetched.checkout, direktivPin.charts.knative);
    ctx.charts = { direktiv: ctx.opts.chart ?? fetched.chartDir, knative, commit: fetched.commit };
    s.note(`Direktiv ${ref} at ${fetched.commit}${fetched.cloned ? ' (cloned)' : ' (cached)'}`);
  },
  async 'preflight.images'(ctx, _step, s) {
    // What the charts really run (a chart under test may add an image), merged with images.yaml.
    const charts = need(ctx.charts, 'charts');
    const helm = need(ctx.tools, 'tools').helm.path;
    const rendered = new Set<string>();
    const render = async (chartDir: string, releaseName: string, namespace: string, values: object) => {
      for (const i of renderedImages(await helmTemplate({ helm, chartDir, releaseName, namespace, values })))
        rendered.add(i);
    };
    await render(charts.knative, 'knative', 'default', {});
    for (const r of ctx.scenarios.values()) {
      await render(
        charts.direktiv,
        'direktiv',
        r.scenario.namespace,
        parse(runDirektivValues(ctx, r.scenario)) as object,
      );
    }
    const images = imagesToPull(ctx.overrides, [...runImages(ctx.opts, ctx.overrides), ...rendered]);
    // Every manifest resolved on its registry first: a vanished image stops the run here, named,
    // before a cluster exists (not as ImagePullBackOff ten minutes in).
    const client = new RegistryClient();
    const rows = await checkImages(images, {
      client,
      overrides: ctx.overrides,
      mode: ctx.opts.images,
      builtDir: join(ctx.out, 'images'),
    }).finally(() => client.close());
    Object.assign(ctx.imageDigests, resolvedDigests(rows));
    const problems = imageCheckProblems(rows);
    if (problems.length) {
      s.note(imageCheckTable(rows));
      throw asPlain(new PreflightErrors(problems));
    }
    s.note(`${rows.length} images resolved (${rows.filter((r) => r.source === 'built').length} built)`);
    // Built images reach the node through its mirror, never through docker pull.
    const toPull = images.filter((i) => rows.find((r) => r.ref === i.ref)?.source !== 'built');
    const report = await pullImages(ctx.runner, toPull, { log: s.note }).catch((e) => {
      throw asPlain(e);
    });
    for (const i of toPull) {
      // The digest the run really used: a tag can move between a failing run and its replay.
      const r = await ctx.runner(
        'docker',
        ['image', 'inspect', '--format', '{{join .RepoDigests " "}}', i.ref],
        {
          timeoutMs: 30_000,
        },
      );
      const digest = r.stdout.trim().split(' ')[0];
      // The registry's answer stays: RepoDigests are `repo@digest`, kept only where none resolved.
      if (r.exitCode === 0 && digest && !ctx.imageDigests[i.ref]) ctx.imageDigests[i.ref] = digest;
    }
    s.note(
      `${images.length} images on the host (${report.pulled.length} pulled, ${report.present.length} already there)`,
    );
  },

  async 'cluster.create'(ctx, _step, s) {
    const tools = need(ctx.tools, 'tools');
    const decision = need(ctx.cluster, 'cluster decision');
    if (decision.action === 'create') {
      await createCluster(ctx.runner, {
        kind: tools.kind.path,
        cluster: ctx.opts.clusterName,
        paths: ctx.paths,
        configYaml: kindClusterYaml({
          httpPort: ctx.opts.httpPort,
          httpsPort: ctx.opts.httpsPort,
          nodeImage: useOf(ctx.overrides, 'kind.node'),
          registryMirrors: ctx.overrides.registryMirrors,
        }),
        httpPort: ctx.opts.httpPort,
        httpsPort: ctx.opts.httpsPort,
        mirrorCommands: registryMirrorCommands(
          `${ctx.opts.clusterName}-control-plane`,
          ctx.overrides.registryMirrors,
        ),
        pinsHash: clusterShapeHash(ctx),
        nodeImage: useOf(ctx.overrides, 'kind.node'),
      }).catch((e) => {
        throw asPlain(e);
      });
      s.onCleanup(`delete kind cluster ${ctx.opts.clusterName}`, async () => {
        await runTool(ctx, tools.kind.path, deleteClusterArgs(ctx.opts.clusterName, ctx.paths), 300_000);
        await removeMarker(ctx.paths);
      });
    } else {
      await exportKubeconfig(ctx.runner, tools.kind.path, ctx.opts.clusterName, ctx.paths);
      s.note('reused cluster: it is kept after the run (delete it with kind delete cluster)');
    }
    ctx.client = KubeClient.fromKubeconfig(ctx.paths.kubeconfig, {
      expectContext: `kind-${ctx.opts.clusterName}`,
    });
  },
  async 'cluster.load-images'(ctx, _step, s) {
    const docker = need(ctx.docker, 'docker info');
    // The node image runs the node; everything else (charts, capture, traffic functions) goes in.
    const images = runImages(ctx.opts, ctx.overrides)
      .filter((i) => i.key === undefined || findImage(ctx.overrides, i.ref)?.via !== 'kind-config')
      .map((i) => i.ref);
    const report = await loadMissingImages(ctx.runner, images, {
      kind: need(ctx.tools, 'tools').kind.path,
      cluster: ctx.opts.clusterName,
      containerdImageStore: docker.containerdImageStore,
      dockerMajor: dockerMajor(docker),
      platform: `linux/${docker.architecture === 'aarch64' ? 'arm64' : 'amd64'}`,
      log: s.note,
    }).catch((e) => {
      throw asPlain(e);
    });
    s.note(
      `images: ${report.alreadyPresent.length} present, ${report.loaded.length} loaded, ${report.pulledInNode.length} pulled in the node`,
    );
  },

  async 'teardown.cluster'() {
    // The cluster's deletion is the cleanup registered by cluster.create (skipped by --keep and
    // for reused clusters); this step only marks the phase in the plan and the timings.
  },
};

/**
 * Preflight errors carry a hint: fold it into the message the progress shows. The class stays
 * "could not run", so the run exits 3, not 1.
 */
export function asPlain(e: unknown): Error {
  if (e instanceof PreflightErrors) return new CouldNotRunError(e.describe(), '');
  if (e instanceof PreflightError) return new CouldNotRunError(`${e.message}\n  → ${e.hint}`, '');
  return e as Error;
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

async function reach(
  ctx: RunContext,
  run: Parameters<ClusterDriver['reach']>[1],
  path: Parameters<ClusterDriver['reach']>[2],
  t: Parameters<ClusterDriver['reach']>[3],
  s: StepContext,
): Promise<Reached> {
  const sc = run.scenario;
  const client = need(ctx.client, 'client');
  const forwards: { close(): void }[] = [];
  const close = () => {
    for (const f of forwards) f.close();
  };
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
    return { target, close };
  } catch (e) {
    close();
    throw e;
  }
}

async function startCapture(
  ctx: RunContext,
  run: Parameters<ClusterDriver['startCapture']>[1],
  pcap: string,
): Promise<RunningCapture> {
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
  return nodeCapture(ctx, run, capture, pcap);
}

/** The node capture's stop: tcpdump's counts, then flows attributed by port and pod address. */
export function nodeCapture(
  ctx: Pick<RunContext, 'opts'>,
  run: Parameters<ClusterDriver['startCapture']>[1],
  capture: Pick<ClusterCapture, 'stop' | 'cleanup' | 'listening'>,
  pcap: string,
): RunningCapture {
  return {
    listening: `tcpdump listening on the node (${capture.listening?.iface ?? 'any'})`,
    cleanupTitle: 'delete the capture pod',
    cleanup: () => capture.cleanup(),
    async stop(s) {
      const stopped = await capture.stop();
      s.note(
        `capture: ${stopped.captured ?? '?'} packets, ${stopped.droppedByKernel ?? 0} dropped by the kernel`,
      );
      const addresses = (run.evidence as { addresses?: Record<string, never> }).addresses ?? {};
      const analysis = analyzeCaptureFile(pcap, {
        serverPorts: new Set(PATH_IDS.flatMap((p) => [PATHS[p].port, PATHS[p].plainPort ?? PATHS[p].port])),
      });
      const attr = attributeFlows(analysis.flows, {
        serverComponents: addresses,
        clientComponents: addresses,
        // Host traffic reaches the node on the NodePorts; after kube-proxy's DNAT the Envoy pods
        // listen on 8080/8443 (both Envoys: the address maps tell them apart).
        extraPorts: {
          'client->ingress': [envoyNodePorts.http, envoyNodePorts.https, 8080, 8443],
          'engine->knative': [8080, 8443],
        },
      });
      const passive = Object.fromEntries(PATH_IDS.map((p) => [p, passiveEvidence(attr, p)]));
      const summary = captureSummary({
        driver: `tcpdump -i any in pod ${CAPTURE_POD} on node ${ctx.opts.clusterName}-control-plane`,
        filter: NODE_CAPTURE_FILTER,
        scope:
          'the whole traffic phase of the run (workflow upload, Knative and pod function calls); probes ran after the capture stopped',
        analysis,
        attribution: attr,
        stats: stopped,
      });
      summary.file = pcap;
      const line = `${analysis.flows.length} flows; ${attr.exempt.reduce((n, e) => n + e.flows.length, 0)} exempt, ${attr.unattributed.length} unattributed, ${attr.ambiguous.length} ambiguous`;
      return { passive, summary, line };
    },
  };
}

export const kindDriver: ClusterDriver = {
  name: 'kind',
  actions: kindActions,
  async precheck(ctx) {
    // Docker first: without it nothing below can run, and the user should learn that in a second.
    await checkDocker(ctx.runner);
  },
  async certManagerObjects(ctx) {
    const res = await fetch(certManagerPin.manifestUrl, { signal: AbortSignal.timeout(120_000) }).catch(
      (e: Error) => {
        throw new CouldNotRunError(
          `cannot download ${certManagerPin.manifestUrl}: ${e.message}`,
          'check the network connection (a proxy needs NODE_USE_ENV_PROXY=1)',
        );
      },
    );
    if (!res.ok)
      throw new CouldNotRunError(
        `cannot download ${certManagerPin.manifestUrl}: HTTP ${res.status}`,
        'check the network connection and that the pinned release still exists (kind/versions.ts)',
      );
    const text = rewriteImages(await res.text(), ctx.overrides, ['manifest-rewrite']);
    const objects = parseAllDocuments(text)
      .map((d) => d.toJS(YAML_READ_LIMITS) as KubeObject | null)
      .filter((o): o is KubeObject => Boolean(o?.kind));
    return { objects, source: certManagerPin.manifestUrl };
  },
  async startWorkloads() {
    // kind runs every workload as pods: nothing to start beside the cluster.
  },
  ingress: (ctx) => ({ address: '127.0.0.1', httpPort: ctx.opts.httpPort, httpsPort: ctx.opts.httpsPort }),
  reach,
  startCapture,
  kept: async (ctx) => `cluster kept: kind delete cluster --name ${ctx.opts.clusterName} removes it`,
  components(ctx): Component[] {
    return [
      { name: 'kind', version: kindPin.version, source: 'release binary' },
      {
        name: 'kindest/node',
        version: nodeImagePin.kubernetesVersion,
        source: useOf(ctx.overrides, 'kind.node'),
      },
      { name: 'helm', version: toolPins.helm.version, source: 'release binary' },
      { name: 'kubectl', version: toolPins.kubectl.version, source: 'release binary' },
      { name: 'cert-manager', version: certManagerPin.version, source: certManagerPin.manifestUrl },
      { name: 'direktiv', version: direktivPin.ref, source: `${direktivPin.repository} (chart and images)` },
    ];
  },
};
