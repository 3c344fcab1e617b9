// Builds the ordered plan of a real run from the options and the pins. Pure: it reads nothing
// from disk or network, so --dry-run is side-effect free and tests compare plans exactly.
import { envoyNodePorts } from '../../../kind/cluster.ts';
import {
  certManagerPin,
  direktivPin,
  kindPin,
  nodeImagePin,
  pinsHash,
  toolPins,
} from '../../../kind/versions.ts';
import type { Scenario } from '../../../scenarios/index.ts';
import { PATH_IDS, PATHS } from '../../../scenarios/paths.ts';
import { CERT_MANAGER_NAMESPACE as CERT_MANAGER_NS, PROFILE_RELEASE } from '../chart/render.ts';
import type { E2eOptions } from '../cli/e2e-args.ts';
import { builtImageSteps, mirrorCommands, pulledImages } from './built-images.ts';
import { knativePatches, patchCommand } from './knative-patches.ts';
import { layout } from './layout.ts';
import type { Plan, PlanStep } from './types.ts';

export const KNATIVE_NS = 'knative-serving-knative';
export const CONTOUR_NAMESPACES = ['contour-external', 'contour-internal'] as const;

export type PlanOptions = Pick<
  E2eOptions,
  | 'scenarios'
  | 'clusterName'
  | 'httpPort'
  | 'httpsPort'
  | 'chart'
  | 'direktivRef'
  | 'capture'
  | 'keep'
  | 'keepOnFailure'
> & { images?: E2eOptions['images'] };

/** Where Direktiv's charts come from: a local chart dir (--chart) or a git checkout of a ref. */
export function chartSource(o: Pick<PlanOptions, 'chart' | 'direktivRef'>) {
  const ref = o.direktivRef ?? direktivPin.ref;
  const checkout = `.cache/direktiv/${ref.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  return {
    ref,
    checkout,
    clone: `git clone --depth 1 --branch ${ref} ${direktivPin.repository} ${checkout}`,
    direktivChart: o.chart ?? `${checkout}/${direktivPin.charts.direktiv}`,
    knativeChart: `${checkout}/${direktivPin.charts.knative}`,
  };
}

/**
 * `images`: every image the run pulls (kind/images.yaml plus the traffic functions), when known.
 * `kubeconfig`: the cluster's own kubeconfig as the commands name it (default: kind's, under .e2e/).
 */
export function buildPlan(
  o: PlanOptions,
  extra: { images?: readonly string[]; kubeconfig?: string } = {},
): Plan {
  const c = o.clusterName;
  const kubeconfig = extra.kubeconfig ?? `.e2e/${c}/${layout.kubeconfig}`;
  const k = (a: string) => `kubectl --kubeconfig ${kubeconfig} ${a}`;
  const h = (a: string) => `helm --kubeconfig ${kubeconfig} ${a}`;
  const src = chartSource(o);
  const steps: PlanStep[] = [];
  const add = (s: PlanStep) => steps.push(s);
  const anyServices = o.scenarios.some((s) => s.features.includes('services'));

  add({
    id: 'preflight.docker',
    phase: 'preflight',
    title:
      'Docker is reachable, has enough memory; note the image store (containerd store needs image archives)',
    commands: ["docker info --format '{{json .}}'"],
  });
  add({
    id: 'preflight.ports',
    phase: 'preflight',
    title: `host ports ${o.httpPort} (http) and ${o.httpsPort} (https) are free on 127.0.0.1`,
    commands: [`# bind 127.0.0.1:${o.httpPort} and 127.0.0.1:${o.httpsPort}, then release them`],
  });
  add({
    id: 'preflight.tools',
    phase: 'preflight',
    title: `tools fetched and sha256-verified: kind ${kindPin.version}, helm ${toolPins.helm.version}, kubectl ${toolPins.kubectl.version}`,
    commands: ['npm run tools -- fetch'],
  });
  add({
    id: 'preflight.charts',
    phase: 'preflight',
    title: o.chart
      ? `Direktiv chart from ${o.chart}; Knative chart from ${src.ref}`
      : `Direktiv charts from git ref ${src.ref}`,
    commands: [`test -d ${src.checkout} || ${src.clone}`],
  });
  const built = o.images === 'built';
  if (built) for (const s of builtImageSteps(c)) add(s);
  const pulls = pulledImages(extra.images ?? [], o.images ?? 'upstream');
  add({
    id: 'preflight.images',
    phase: 'preflight',
    title: `every image the run pulls (rendered from the charts, overrides from kind/images.yaml) resolved to a digest on its registry (a missing one stops the run here, named), then pulled once on the host${built ? "; Direktiv's own images resolved on the local registry, never pulled from Docker Hub" : ''}`,
    commands: [
      `npm run image-preflight${built ? ` -- --images built --built-dir .e2e/${c}/images` : ''}  # HEAD /v2/<name>/manifests/<ref> per image, Bearer token challenge answered`,
      ...(pulls.length
        ? pulls.map((i) => `docker pull ${i}`)
        : ['docker pull <each image in kind/images.yaml and the traffic function images>']),
    ],
  });

  add({
    id: 'cluster.create',
    phase: 'cluster',
    title: `kind cluster '${c}' (${nodeImagePin.kubernetesVersion}), created or reused when its marker matches pins ${pinsHash()}`,
    commands: [
      `kind create cluster --name ${c} --config .e2e/${c}/kind-config.yaml --kubeconfig .e2e/${c}/${layout.kubeconfig} --wait 120s`,
      `# marker .e2e/${c}/marker.json records the pins hash ${pinsHash()}; a later run reuses only a cluster it matches`,
      ...(built ? mirrorCommands(c) : []),
    ],
    files: [layout.kindConfig],
    timeoutSec: 300,
  });
  add({
    id: 'cluster.load-images',
    phase: 'cluster',
    title: `images missing on the node loaded from the host (docker save + kind load image-archive)${built ? "; Direktiv's built images are not loaded: the node pulls them through its docker.io mirror" : ''}`,
    commands: [
      `docker exec ${c}-control-plane crictl images -o json`,
      `docker save --platform <node platform> <image> -o <tmp>.tar && kind load image-archive <tmp>.tar --name ${c}`,
    ],
  });

  add({
    id: 'cert-manager.install',
    phase: 'cert-manager',
    title: `cert-manager ${certManagerPin.version}`,
    commands: [k(`apply --server-side -f ${certManagerPin.manifestUrl}`)],
  });
  add({
    id: 'cert-manager.ready',
    phase: 'cert-manager',
    title: 'cert-manager answers: a dry-run Certificate passes its webhook',
    commands: [k(`create --dry-run=server -n ${CERT_MANAGER_NS} -f ${layout.certManagerCheck}`)],
    files: [layout.certManagerCheck],
    waitsFor: 'CRDs installed, webhook Service and Deployment ready, CA bundle injected',
    timeoutSec: 180,
  });

  add({
    id: 'knative.install',
    phase: 'knative',
    title: `Direktiv's Knative chart (${src.ref}): Serving 0.25, net-contour 0.25, Contour 1.14 (no --wait: the LoadBalancer never gets an address on kind)`,
    commands: [h(`upgrade --install knative ${src.knativeChart}`)],
  });
  add({
    id: 'knative.expose-envoy',
    phase: 'knative',
    title: `contour-external/envoy as NodePort ${envoyNodePorts.http}/${envoyNodePorts.https} (mapped to 127.0.0.1:${o.httpPort}/${o.httpsPort}) [erratum 8]`,
    commands: [
      k(`-n contour-external patch svc envoy --type=json --patch-file ${layout.envoyNodePortPatch}`),
    ],
    files: [layout.envoyNodePortPatch],
  });
  add({
    id: 'knative.ready',
    phase: 'knative',
    title: 'both Contours, their Envoys, the Knative controller, webhook and net-contour ready',
    commands: [
      ...CONTOUR_NAMESPACES.flatMap((ns) => [
        k(`-n ${ns} get secret contourcert envoycert`),
        k(`-n ${ns} rollout status deploy/contour --timeout=300s`),
        k(`-n ${ns} rollout status ds/envoy --timeout=300s`),
      ]),
      k(`-n ${KNATIVE_NS} wait deploy --all --for=condition=Available --timeout=300s`),
    ],
    waitsFor: 'certgen Secrets contourcert/envoycert, Deployments available, DaemonSets rolled out',
    timeoutSec: 600,
  });
  const serviceNamespaces = [...new Set(o.scenarios.map((s) => s.serviceNamespace))];
  const releaseNamespaces = [...new Set(o.scenarios.map((s) => s.namespace))].filter((n) => n !== 'default');
  add({
    id: 'namespaces.create',
    phase: 'namespaces',
    title: `namespaces ${[...releaseNamespaces, ...serviceNamespaces].join(', ')} exist before helm install [erratum 9]`,
    commands: [...releaseNamespaces, ...serviceNamespaces].map(
      (n) => `${k(`create namespace ${n} --dry-run=client -o yaml`)} | ${k('apply -f -')}`,
    ),
  });

  o.scenarios.forEach((s, i) => {
    addScenarioSteps(s, i, o, k, h, src, add);
  });

  add({
    id: 'report.write',
    phase: 'report',
    title: 'verdicts per profile and path; terminal table, JSON, JUnit XML, Markdown summary',
    commands: [
      `# write ${layout.reportText}, ${layout.reportJson}, ${layout.reportJunit}, ${layout.reportMarkdown}`,
    ],
    always: true,
  });
  const keepNote = o.keep
    ? ' (skipped: --keep)'
    : o.keepOnFailure
      ? ' (skipped on failure: --keep-on-failure)'
      : '';
  add({
    id: 'teardown.cluster',
    phase: 'teardown',
    title: `delete the cluster the run created${keepNote}; a reused cluster is kept`,
    commands: [`kind delete cluster --name ${c}`],
    always: true,
  });

  return {
    header: {
      tool: 'direktiv-tls-e2e',
      pins: pinsHash(),
      cluster: c,
      scenarios: o.scenarios.map((s) => `${s.name} (${s.mode}${s.strict ? ', strict' : ''})`).join(', '),
      direktiv: o.chart ? `chart ${o.chart}` : `${direktivPin.repository}@${src.ref}`,
      knativeServices: anyServices ? 'https (services feature)' : 'http',
    },
    steps,
  };
}

function addScenarioSteps(
  s: Scenario,
  index: number,
  o: PlanOptions,
  k: (a: string) => string,
  h: (a: string) => string,
  src: ReturnType<typeof chartSource>,
  add: (s: PlanStep) => void,
): void {
  const id = (x: string) => `${s.name}/${x}`;
  const scenario = s.name;
  if (index > 0) {
    add({
      id: id('profile.switch'),
      phase: 'profile',
      title: `switch the live cluster to ${s.name}: remove the previous profile's Knative settings and functions`,
      commands: [
        k(`-n ${s.serviceNamespace} delete ksvc --all --wait=true`),
        k(`-n ${s.serviceNamespace} delete job -l direktiv.io/scope --ignore-not-found`),
      ],
      scenario,
    });
  }
  add({
    id: id('profile.apply'),
    phase: 'profile',
    title: `profile objects for ${s.name} (${s.mode}): issuers, Certificates, copies, delegation`,
    commands: [
      h(
        `upgrade --install ${PROFILE_RELEASE} charts/direktiv-tls-profile -n ${s.namespace} -f ${layout.profileValues(s.name)}`,
      ),
    ],
    files: [layout.profileValues(s.name), layout.profileManifests(s.name)],
    scenario,
  });
  add({
    id: id('profile.knative-settings'),
    phase: 'profile',
    title: s.features.includes('services')
      ? `Knative settings: config-contour default-tls-secret${s.strict ? ', config-network httpProtocol Redirected (--strict)' : ''}`
      : 'Knative settings: no default-tls-secret, httpProtocol Enabled (the chart default)',
    commands: knativePatches(s).map((p) => patchCommand(p, k)),
    scenario,
  });
  add({
    id: id('profile.certificates-ready'),
    phase: 'profile',
    title: 'every Certificate of the profile Ready',
    commands: [
      k(
        'wait certificate -A -l app.kubernetes.io/instance=direktiv-tls-profile --for=condition=Ready --timeout=180s',
      ),
    ],
    waitsFor: 'Certificate Ready conditions (else the CertificateRequest status and issuer events)',
    timeoutSec: 180,
    scenario,
  });
  add({
    id: id('direktiv.install'),
    phase: 'direktiv',
    title: `Direktiv (${o.chart ? 'local chart' : src.ref}) in ${s.namespace} with the ${s.name} values`,
    commands: [
      h(
        `upgrade --install direktiv ${src.direktivChart} -n ${s.namespace} -f ${layout.direktivValues(s.name)}`,
      ),
    ],
    files: [layout.direktivValues(s.name)],
    scenario,
  });
  if (index > 0) {
    add({
      id: id('direktiv.restart'),
      phase: 'direktiv',
      title: 'restart Direktiv so every pod mounts the new certificates',
      commands: [k(`-n ${s.namespace} rollout restart deploy`)],
      scenario,
    });
  }
  add({
    id: id('direktiv.ready'),
    phase: 'direktiv',
    title:
      'every Direktiv Deployment available with no unavailable replicas; the API answers through the ingress',
    commands: [k(`-n ${s.namespace} rollout status deploy --timeout=300s`)],
    waitsFor:
      'Deployments available (observedGeneration current, unavailableReplicas 0), engine reachable from the API',
    timeoutSec: 600,
    scenario,
  });
  add({
    id: id('direktiv.reachable'),
    phase: 'direktiv',
    title: `the API answers on the host through the external Envoy (Host ${s.ingressHost})`,
    commands: [
      `curl ${s.features.includes('ingress') ? `--cacert <direktiv-lb ca.crt> --resolve ${s.ingressHost}:${o.httpsPort}:127.0.0.1 https://${s.ingressHost}:${o.httpsPort}` : `-H 'Host: ${s.ingressHost}' http://127.0.0.1:${o.httpPort}`}/api/healthz`,
    ],
    // Contour 1.14 opens Envoy's listeners only once a virtual host exists: Direktiv's Ingress.
    waitsFor: 'an HTTP answer from the API through Envoy (the NodePort and kind port mapping work)',
    timeoutSec: 180,
    scenario,
  });
  if (o.capture) {
    add({
      id: id('capture.start'),
      phase: 'capture',
      title: 'tcpdump in a privileged host-network pod on the node, confirmed listening',
      commands: [k('apply -f <capture pod manifest>'), k('logs -f <capture pod> # wait for "listening on"')],
      scenario,
    });
  }
  add({
    id: id('traffic.drive'),
    phase: 'traffic',
    title: 'drive Direktiv through its API: namespace, workflow with a Knative and a pod function, execute',
    commands: [
      'POST /api/namespaces/<ns>',
      `POST /api/namespaces/<ns>/workflows  (Content-Type: text/yaml, ${layout.workflow(s.name)})`,
      'GET  /api/namespaces/<ns>/workflows/<wf>/functions  until status True',
      'POST /api/namespaces/<ns>/workflows/<wf>/execute?wait=true',
    ],
    files: [layout.workflow(s.name)],
    timeoutSec: 600,
    scenario,
  });
  if (o.capture) {
    add({
      id: id('capture.stop'),
      phase: 'capture',
      title: 'stop the capture, copy the pcap, classify every flow per path',
      commands: [k('exec <capture pod> -- pkill -INT tcpdump'), `# copy to ${layout.pcap(s.name)}`],
      scenario,
      always: true,
    });
  }
  add({
    id: id('probe.active'),
    phase: 'probe',
    title: `active probes on ${PATH_IDS.length} paths through port-forwards, with the names the real clients dial`,
    commands: PATH_IDS.map(
      (p) =>
        `# ${p}: ${PATHS[p].protocol} ${PATHS[p].service}:${PATHS[p].port} expect ${s.expected[p].state}`,
    ),
    scenario,
  });
  add({
    id: id('config.evidence'),
    phase: 'config',
    title: 'configuration evidence from the live objects (mounts, annotations, ConfigMap entries)',
    commands: [k(`-n ${s.namespace} get deploy,svc,cm,ingress -o yaml`)],
    scenario,
  });
}
