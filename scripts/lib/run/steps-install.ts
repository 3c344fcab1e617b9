// Actions of the install phases of a real run (cert-manager to Direktiv ready), keyed by the plan's
// step ids, shared by every cluster driver (the drivers' own preflight and cluster steps live in
// scripts/lib/cluster/). Each action does what its plan step's commands say, through the same tools.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { envoyNodePorts } from '../../../kind/cluster.ts';
import { direktivImageValues, type ImageOverrides, loadImageOverrides, useOf } from '../../../kind/images.ts';
import { pinsHash } from '../../../kind/versions.ts';
import { direktivValues, toValuesYaml } from '../../../scenarios/direktiv-values.ts';
import type { Scenario } from '../../../scenarios/index.ts';
import { PROFILE_CHART_DIR, PROFILE_RELEASE, profileChartValues } from '../chart/render.ts';
import type { E2eOptions } from '../cli/e2e-args.ts';
import { DirektivApiError } from '../direktiv-api/client.ts';
import { DEFAULT_ISOLATED_IMAGE, DEFAULT_KNATIVE_IMAGE } from '../direktiv-api/workflow.ts';
import {
  certificatesReadyGate,
  certManagerApiGate,
  deploymentsAvailableGate,
  knativeChartGate,
  patchEnvoyNodePorts,
} from '../k8s/gates.ts';
import { pinnedDirektivImages } from '../plan/artifacts.ts';
import { CONTOUR_NAMESPACES, KNATIVE_NS } from '../plan/build.ts';
import { knativePatches } from '../plan/knative-patches.ts';
import { layout } from '../plan/layout.ts';
import type { PlanStep } from '../plan/types.ts';
import { type ImageToPull, imagesToPull } from '../preflight/index.ts';
import { needsPostRenderer, postRendererFlags } from '../preflight/post-render.ts';
import { type Action, helmRun, need, type RunContext } from './context.ts';
import { ingressApi } from './ingress.ts';

export type { Action };

const scenarioOf = (ctx: RunContext, step: PlanStep) => {
  const r = ctx.scenarios.get(step.scenario ?? '');
  if (!r) throw new Error(`internal: step ${step.id} has no scenario`);
  return r.scenario;
};

async function writeRunFile(ctx: RunContext, rel: string, text: string): Promise<string> {
  const p = join(ctx.out, rel);
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, text);
  return p;
}

/** The Direktiv values of a scenario as the run installs them: profile values + image pins. */
export function runDirektivValues(ctx: RunContext, s: Scenario): string {
  const values = direktivValues(s, { images: pinnedDirektivImages() });
  // kind/images.yaml overrides (a vanished vorteil/* image replaced by a mirror) win over the pins.
  for (const [k, v] of Object.entries(direktivImageValues(ctx.overrides))) setPath(values, k, v);
  return toValuesYaml(values, s);
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    cur[k] = (cur[k] as Record<string, unknown>) ?? {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys.at(-1) as string] = value;
}

/** Every image a run pulls: kind/images.yaml (charts, cert-manager, capture) plus the traffic functions. */
export function runImages(
  opts: Pick<E2eOptions, 'knativeImage' | 'isolatedImage'>,
  overrides: ImageOverrides = loadImageOverrides(),
): ImageToPull[] {
  return imagesToPull(overrides, [
    opts.knativeImage ?? DEFAULT_KNATIVE_IMAGE,
    opts.isolatedImage ?? DEFAULT_ISOLATED_IMAGE,
  ]);
}

/**
 * What decides whether an existing cluster can be reused: the pins, and the overrides that shape
 * the node (its image, the registry mirrors written into it at creation).
 */
export function clusterShapeHash(ctx: Pick<RunContext, 'overrides'>): string {
  return pinsHash({
    nodeImage: useOf(ctx.overrides, 'kind.node'),
    registryMirrors: ctx.overrides.registryMirrors,
  });
}

export const installActions: Record<string, Action> = {
  async 'cert-manager.install'(ctx, _step, s) {
    const { objects, source } = await ctx.driver.certManagerObjects(ctx);
    await need(ctx.client, 'client').applyAll(objects);
    s.note(`${objects.length} objects applied (server-side) from ${source}`);
    // Where the cluster cannot run cert-manager's pods itself, the driver runs its controllers.
    await ctx.driver.startWorkloads(ctx, 'cert-manager', s);
  },
  async 'cert-manager.ready'(ctx, step, s) {
    const r = await certManagerApiGate(need(ctx.client, 'client'), {
      timeoutMs: (step.timeoutSec ?? 180) * 1000,
      onProgress: s.note,
    });
    for (const n of r.notes) s.note(n);
  },

  async 'knative.install'(ctx, _step, s) {
    const charts = need(ctx.charts, 'charts');
    if (ctx.cluster?.action === 'reuse') {
      // An upgrade would re-create the self-deleting certgen Job and rotate Contour's xDS
      // certificates under running pods: a reused cluster keeps its deployed Knative release.
      const st = await ctx.runner(
        need(ctx.tools, 'tools').helm.path,
        ['status', 'knative', '-o', 'json', '--kubeconfig', ctx.paths.kubeconfig],
        {
          timeoutMs: 60_000,
        },
      );
      if (st.exitCode === 0 && /"status":\s*"deployed"/.test(st.stdout)) {
        s.note('Knative chart already deployed on this reused cluster: not upgraded');
        return;
      }
    }
    const pr = needsPostRenderer(ctx.overrides, 'knative') ? postRendererFlags() : [];
    await helmRun(ctx, ['upgrade', '--install', 'knative', charts.knative, ...pr], 600_000);
  },
  async 'knative.expose-envoy'(ctx, _step, s) {
    const r = await patchEnvoyNodePorts(need(ctx.client, 'client'));
    s.note(`envoy NodePorts ${r.http}/${r.https}${r.changed ? '' : ' (already set)'}`);
  },
  async 'knative.ready'(ctx, step, s) {
    await knativeChartGate(need(ctx.client, 'client'), {
      timeoutMs: (step.timeoutSec ?? 600) * 1000,
      contourNamespaces: [...CONTOUR_NAMESPACES],
      onProgress: s.note,
    });
  },
  async 'namespaces.create'(ctx, step) {
    const client = need(ctx.client, 'client');
    const names = new Set<string>();
    for (const r of ctx.scenarios.values()) {
      if (r.scenario.namespace !== 'default') names.add(r.scenario.namespace);
      names.add(r.scenario.serviceNamespace);
    }
    void step;
    await client.applyAll(
      [...names].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
    );
  },

  async 'profile.switch'(ctx, step, s) {
    const sc = scenarioOf(ctx, step);
    const client = need(ctx.client, 'client');
    // Old Knative services and pod Jobs mount the previous profile's certificates: remove them.
    for (const [apiVersion, kind] of [
      ['serving.knative.dev/v1', 'Service'],
      ['batch/v1', 'Job'],
    ] as const) {
      const items = await client.list(apiVersion, kind, { namespace: sc.serviceNamespace });
      for (const o of items)
        await client.delete({
          apiVersion,
          kind,
          namespace: sc.serviceNamespace,
          name: o.metadata.name as string,
        });
      s.note(`deleted ${items.length} ${kind}(s) in ${sc.serviceNamespace}`);
    }
  },
  async 'profile.apply'(ctx, step) {
    const sc = scenarioOf(ctx, step);
    const file = await writeRunFile(ctx, layout.profileValues(sc.name), stringify(profileChartValues(sc)));
    await helmRun(ctx, [
      'upgrade',
      '--install',
      PROFILE_RELEASE,
      PROFILE_CHART_DIR,
      '-n',
      sc.namespace,
      '-f',
      file,
    ]);
  },
  async 'profile.knative-settings'(ctx, step) {
    const client = need(ctx.client, 'client');
    for (const p of knativePatches(scenarioOf(ctx, step))) {
      await client.mergePatch(
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: p.namespace, name: p.configMap },
        { data: p.data },
      );
    }
  },
  async 'profile.certificates-ready'(ctx, step, s) {
    const sc = scenarioOf(ctx, step);
    await certificatesReadyGate(need(ctx.client, 'client'), {
      namespaces: [...new Set([sc.namespace, sc.serviceNamespace, 'contour-internal', 'cert-manager'])],
      timeoutMs: (step.timeoutSec ?? 180) * 1000,
      onProgress: s.note,
    });
  },
  async 'direktiv.install'(ctx, step) {
    const sc = scenarioOf(ctx, step);
    const file = await writeRunFile(ctx, layout.direktivValues(sc.name), runDirektivValues(ctx, sc));
    const pr = needsPostRenderer(ctx.overrides, 'direktiv') ? postRendererFlags() : [];
    await helmRun(ctx, [
      'upgrade',
      '--install',
      'direktiv',
      need(ctx.charts, 'charts').direktiv,
      '-n',
      sc.namespace,
      '-f',
      file,
      ...pr,
    ]);
  },
  async 'direktiv.restart'(ctx, step) {
    const sc = scenarioOf(ctx, step);
    const client = need(ctx.client, 'client');
    const now = new Date().toISOString();
    for (const d of await client.list('apps/v1', 'Deployment', { namespace: sc.namespace })) {
      // What `kubectl rollout restart` does: a new pod-template annotation.
      await client.mergePatch(
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: sc.namespace,
          name: d.metadata.name as string,
        },
        { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': now } } } } },
      );
    }
  },
  async 'direktiv.ready'(ctx, step, s) {
    const sc = scenarioOf(ctx, step);
    await deploymentsAvailableGate(need(ctx.client, 'client'), {
      namespace: sc.namespace,
      expect: ['direktiv', 'direktiv-api', 'direktiv-functions', 'direktiv-ui'],
      timeoutMs: (step.timeoutSec ?? 600) * 1000,
      onProgress: s.note,
    });
  },
  async 'direktiv.reachable'(ctx, step, s) {
    const sc = scenarioOf(ctx, step);
    const api = await ingressApi(ctx, need(ctx.client, 'client'), sc, {
      unavailableRetryMs: 0,
      signal: s.signal,
    });
    const deadline = Date.now() + (step.timeoutSec ?? 180) * 1000;
    let last = '';
    while (Date.now() < deadline) {
      try {
        await api.healthz();
        return;
      } catch (e) {
        // Any HTTP answer means Envoy routed the request; only the transport failing is a miss.
        if (e instanceof DirektivApiError) return;
        last = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error(
      `the API does not answer through the external Envoy on 127.0.0.1:${sc.features.includes('ingress') ? ctx.opts.httpsPort : ctx.opts.httpPort} (Host ${sc.ingressHost}): ${last}. Check contour-external/envoy is NodePort ${envoyNodePorts.http}/${envoyNodePorts.https}, the Ingress direktiv-ingress exists, and kind maps the ports (docker port ${ctx.opts.clusterName}-control-plane)`,
    );
  },
  async 'teardown.cluster'() {
    // The cluster's deletion is the cleanup registered by cluster.create (skipped by --keep and
    // for reused clusters); this step only marks the phase in the plan and the timings.
  },
};

export { KNATIVE_NS, useOf };
