// The control-plane run's plan: the kind run's plan (buildPlan) with the cluster swapped. Every
// shared step keeps its id, order and step code; the driver's own steps replace kind's (Go and
// cached builds instead of Docker, images and kind), two steps run the stand-ins where Direktiv's
// servers cannot run, and the steps that need a program this machine cannot have (Direktiv's
// chart and servers, Envoy) carry `blockedBy`: they stay in the plan and are reported blocked.
import { join } from 'node:path';
import { sourceModulePins, toolPins, upstreamPins } from '../../../kind/versions.ts';
import { PATH_IDS } from '../../../scenarios/index.ts';
import { KNATIVE_SERVING_NAMESPACE } from '../../../scenarios/knative-settings.ts';
import { CERT_MANAGER_NAMESPACE } from '../chart/render.ts';
import { defaultStateDir } from '../control-plane/index.ts';
import { buildPlan, type PlanOptions } from '../plan/build.ts';
import type { Plan, PlanStep } from '../plan/types.ts';

/** What the control-plane run cannot have, as last checked (the run checks again, see the driver). */
export const BLOCKED_FACTS = {
  direktiv:
    'github.com/vorteil/direktiv@v0.4.1: reading https://proxy.golang.org/github.com/vorteil/direktiv/@v/v0.4.1.info: 403 Forbidden (server response: This module version is not available.); its servers and both charts (kubernetes/charts/{direktiv,knative}) live in that module',
  envoy:
    'Envoy (contour-external, contour-internal) is a C++ program, not a Go module: it cannot be built from the Go module proxy',
} as const;
export type BlockedProgram = keyof typeof BLOCKED_FACTS;

const k8s = upstreamPins.kubernetes;
const cm = upstreamPins.certManager;
const mod = (p: { module: string; version: string }) => `${p.module}@${p.version}`;

/** Steps the control plane does not have (kind's Docker, host ports, image pulls and loads). */
const DROPPED = new Set(['preflight.docker', 'preflight.ports', 'preflight.images', 'cluster.load-images']);

/** Shared steps that need a program the control plane cannot run. */
const BLOCKED_BY: Record<string, BlockedProgram[]> = {
  'knative.install': ['direktiv'],
  'knative.expose-envoy': ['direktiv', 'envoy'],
  'knative.ready': ['direktiv', 'envoy'],
  'direktiv.install': ['direktiv'],
  'direktiv.restart': ['direktiv'],
  'direktiv.ready': ['direktiv'],
  'direktiv.reachable': ['direktiv', 'envoy'],
  'traffic.drive': ['direktiv'],
};

export interface ControlPlanePlanOptions extends PlanOptions {
  /** Where the control plane keeps its state (kubeconfig, certificates, logs); default defaultStateDir(). */
  stateDir?: string | null;
}

/** Where the control plane writes its admin kubeconfig (scripts/lib/control-plane/start.ts). */
export function controlPlaneKubeconfig(stateDir: string): string {
  return join(stateDir, 'kubeconfig', 'admin.kubeconfig');
}

export function buildControlPlanePlan(o: ControlPlanePlanOptions): Plan {
  const stateDir = o.stateDir ?? defaultStateDir();
  const kubeconfig = controlPlaneKubeconfig(stateDir);
  const base = buildPlan(o, { kubeconfig });
  const k = (a: string) => `kubectl --kubeconfig ${kubeconfig} ${a}`;
  const steps: PlanStep[] = [];
  for (const step of base.steps) {
    const name = step.id.slice(step.id.indexOf('/') + 1);
    if (DROPPED.has(name)) continue;
    const replaced = replace(step, name, { k, stateDir, keep: o.keep });
    const blockedBy = BLOCKED_BY[name];
    for (const s of replaced) steps.push(blockedBy && s.id === step.id ? { ...s, blockedBy } : s);
    // The stand-ins take the place of Direktiv's servers: started once the profile's certificates
    // exist, and their clients call while the capture runs (Direktiv's own traffic is blocked).
    if (name === 'direktiv.reachable') steps.push(standInsStart(step.scenario));
    if (name === 'traffic.drive') steps.push(standInsTraffic(step.scenario));
  }
  return {
    header: {
      ...base.header,
      cluster: `local control plane (state ${stateDir})`,
      driver: 'control-plane',
      direktiv: `${mod(sourceModulePins.direktiv)} (blocked: not served by the Go module proxy)`,
    },
    steps,
    blocked: { ...BLOCKED_FACTS },
  };
}

function replace(
  step: PlanStep,
  name: string,
  c: { k: (a: string) => string; stateDir: string; keep: boolean },
): PlanStep[] {
  const { k } = c;
  switch (name) {
    case 'preflight.tools':
      return [
        {
          id: 'preflight.go',
          phase: 'preflight',
          title: 'Go is installed (the control plane is built from the Go module proxy)',
          commands: ['go env GOVERSION GOPROXY'],
        },
        {
          ...step,
          title: `tools: helm ${toolPins.helm.version} (pinned, sha256-verified), kubectl ${k8s.version} built from ${mod(k8s)}`,
          commands: ['npm run tools -- path helm', `# kubectl: see preflight.build`],
        },
      ];
    case 'preflight.charts':
      return [
        {
          ...step,
          title: `Direktiv's charts and servers from the Go module ${mod(sourceModulePins.direktiv)}; Knative's manifests from ${sourceModulePins.knativeServing.module}, ${sourceModulePins.knativeNetworking.module}, ${sourceModulePins.netContour.module}`,
          commands: [
            `go mod download -json ${mod(sourceModulePins.direktiv)}   # blocked when the proxy refuses it`,
            '(cd tools/upstream/knative && go mod download -json knative.dev/serving knative.dev/networking knative.dev/net-contour)',
          ],
        },
        {
          id: 'preflight.build',
          phase: 'preflight',
          title: `build (once, cached by version) etcd ${upstreamPins.etcd.version}, kube-apiserver/controller-manager/scheduler/kubectl ${k8s.version}, kwok ${upstreamPins.kwok.version}, cert-manager ${cm.version}`,
          commands: Object.values(upstreamPins).map(
            (p) =>
              `(cd tools/upstream/${p.dir} && CGO_ENABLED=0 nice go build -trimpath ${Object.values(p.programs).join(' ')})`,
          ),
          timeoutSec: 3600,
        },
      ];
    case 'cluster.create':
      return [
        {
          ...step,
          title: `control plane on 127.0.0.1: etcd, kube-apiserver ${k8s.version}, kube-controller-manager, kube-scheduler as local processes with their own certificates and kubeconfig; kwok runs the node and makes pods Running and Ready`,
          commands: [
            `# state, certificates, logs and kubeconfig in ${c.stateDir}`,
            `${k('get --raw /readyz')}`,
            `${k('get nodes')}`,
          ],
          files: [],
          timeoutSec: 300,
        },
      ];
    case 'cert-manager.install':
      return [
        {
          ...step,
          title: `cert-manager ${cm.version} (${cm.why.split(':')[0]}): CRDs and manifests from ${mod(cm)}, its controller, webhook and cainjector as local processes`,
          commands: [
            '(cd tools/upstream/cert-manager && go mod download -json github.com/cert-manager/cert-manager)',
            `helm template cert-manager <module>/deploy/charts/cert-manager -n ${CERT_MANAGER_NAMESPACE} --set installCRDs=true   # CRDs from <module>/deploy/crds`,
            `${k('apply --server-side -f -')}   # every object but the Deployments and Jobs: their programs run beside the cluster`,
            '# start cert-manager-controller, -webhook, -cainjector (local processes; the webhook configurations point at the loopback webhook)',
          ],
        },
      ];
    case 'knative.install':
      return [
        {
          id: 'knative.objects',
          phase: 'knative',
          title: `Knative's objects that exist without its controllers: Serving CRDs, config-network, config-contour (in ${KNATIVE_SERVING_NAMESPACE}, renamed as Direktiv's chart does) and Contour's CRDs, from the served modules`,
          commands: [
            `# ${mod(sourceModulePins.knativeServing)} config/core/300-resources/*.yaml`,
            `# ${mod(sourceModulePins.knativeNetworking)} config/config-network.yaml`,
            `# ${mod(sourceModulePins.netContour)} config/config-contour.yaml, config/contour/*.yaml (CustomResourceDefinitions only)`,
            k('apply --server-side -f -'),
          ],
        },
        step,
      ];
    case 'capture.start':
      return [
        {
          ...step,
          title: "tcpdump on lo, filtered to the stand-ins' ports, confirmed listening",
          commands: [
            'tcpdump -i lo -U -w <output>/<profile>/capture.pcap tcp and (port <each stand-in port>)',
          ],
        },
      ];
    case 'capture.stop':
      return [
        {
          ...step,
          title: 'stop the capture, classify every flow, attribute it to its path by the stand-in port',
          commands: ['kill -INT <tcpdump pid>'],
        },
      ];
    case 'probe.active':
      return [
        {
          ...step,
          title: `active probes on ${PATH_IDS.length} paths (stand-in servers on loopback) with the names the real clients dial, trusting and presenting the certificates cert-manager issued`,
        },
      ];
    case 'config.evidence':
      return [
        {
          ...step,
          title:
            "configuration evidence from the live objects: the Knative ConfigMaps; Direktiv's objects are blocked (its chart cannot be read)",
        },
      ];
    case 'teardown.cluster':
      return [
        {
          ...step,
          title: `stop every process the run started and remove its temporary folders${c.keep ? ' (skipped: --keep; npm run control-plane -- --down stops it)' : ''}`,
          commands: [
            '# stop cert-manager, kwok, kube-scheduler, kube-controller-manager, kube-apiserver, etcd',
          ],
        },
      ];
    default:
      return [step];
  }
}

function standInsStart(scenario: string | undefined): PlanStep {
  return {
    id: `${scenario}/stand-ins.start`,
    phase: 'stand-ins',
    title:
      "start the lab's stand-in servers for every path (Direktiv's servers and Envoy cannot run here) with the certificates cert-manager issued, read from the Secrets",
    commands: [
      `${PATH_IDS.length} listeners on 127.0.0.1, one per path, configured as the profile configures the real server`,
    ],
    scenario,
  };
}

function standInsTraffic(scenario: string | undefined): PlanStep {
  return {
    id: `${scenario}/stand-ins.traffic`,
    phase: 'stand-ins',
    title: "each path's stand-in client makes its call, configured as the profile configures the real client",
    commands: ['# gRPC, HTTP and HTTPS calls from 127.0.0.1 to each stand-in server'],
    scenario,
  };
}
