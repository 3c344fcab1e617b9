// Where Direktiv's TLS page (docs/config/ssl.md @ 493de14) fails as written, and what the
// corrected mode applies instead. Each erratum is a reported deviation.
import type { Feature } from './features.ts';

export type Mode = 'corrected' | 'as-documented';
export const MODES: readonly Mode[] = ['corrected', 'as-documented'];

/**
 * page: the page is wrong; as-documented reproduces it.
 * environment: needed on any kind cluster whatever the page says; applied in both modes
 *   (without it nothing installs), still listed so the reader sees it.
 * harness: the page omits a path or a behaviour; the harness covers it in both modes.
 */
export type ErratumKind = 'page' | 'environment' | 'harness';

export interface Erratum {
  id: number;
  title: string;
  kind: ErratumKind;
  /** The features whose profiles the erratum concerns. */
  features: Feature[];
  /** What goes wrong when the page is followed verbatim. */
  breaks: string;
  /** What the corrected mode does instead. */
  fix: string;
  /** Where the fact comes from. */
  source: string;
  /**
   * Whether following the page's own example (release namespace default) hits it. False for
   * errata the example happens to satisfy or that are about coverage; those are still reported.
   */
  exampleBreaks: boolean;
}

export const ERRATA: readonly Erratum[] = [
  {
    id: 1,
    title: 'isolates.certificate / isolates.mtls do nothing',
    kind: 'page',
    features: ['grpc-tls'],
    breaks:
      "the chart (v0.4.0, v0.4.1) reads functions.certificate/functions.mtls; with the page's isolates.* keys the functions controller on 5555 stays plaintext",
    fix: 'set functions.certificate and functions.mtls',
    source: 'kubernetes/charts/direktiv/values.yaml and templates/functions-deployment.yaml @ v0.4.1',
    exampleBreaks: true,
  },
  {
    id: 2,
    title: 'the API is also a client of the functions controller (5555)',
    kind: 'harness',
    features: ['grpc-tls'],
    breaks: 'the page names only engine->functions; api->functions goes unchecked',
    fix: 'the harness tests api->functions too; the API mounts functions.certificate (api-deployment.yaml)',
    source: 'templates/api-deployment.yaml (volume functionscerts) @ v0.4.1; pkg/api/server.go initFunctions',
    exampleBreaks: false,
  },
  {
    id: 3,
    title: 'flow.functionsCA must exist in the release namespace with ca.crt',
    kind: 'page',
    features: ['services'],
    breaks:
      'the page creates direktiv-cert-knative only in contour-internal; the engine pod waits in ContainerCreating on volume podca',
    fix: 'issue direktiv-cert-knative from the same CA in the release namespace too',
    source: 'templates/flow-deployment.yaml (volume podca) @ v0.4.1',
    exampleBreaks: true,
  },
  {
    id: 4,
    title: 'the flow.certificates.flow Secret must also exist in the service namespace',
    kind: 'page',
    features: ['grpc-tls'],
    breaks:
      'Knative sidecars and pod Jobs mount it in direktiv-services-direktiv; without it they never start (the page only says so in prose and creates it only in its full example)',
    fix: 'issue direktiv-cert-flow in the service namespace whenever grpc-tls is on',
    source: 'pkg/functions/kube.go createVolumes, pkg/functions/pod.go @ v0.4.1',
    exampleBreaks: true,
  },
  {
    id: 5,
    title: 'the init-pod certificate needs SAN *.<service-namespace>.pod',
    kind: 'page',
    features: ['services'],
    breaks:
      "the engine calls https://<a-b-c-d>.direktiv-services-direktiv.pod:8890; the page's Pod certificate has only direktiv-flow-hl names, so verification fails",
    fix: 'add *.<service-namespace>.pod to the service-namespace direktiv-cert-flow (it serves both roles)',
    source: 'pkg/direktiv/kubereq.go doPodHTTPRequest, cmd/init-pod/init.go @ v0.4.1',
    exampleBreaks: true,
  },
  {
    id: 6,
    title: 'the Knative certificate needs SAN *.<service-namespace>',
    kind: 'page',
    features: ['services'],
    breaks:
      'the engine calls https://<svc>.<service-namespace>; the page gets this right only for the default service namespace and release namespace default',
    fix: 'derive the SAN from the service namespace',
    source: 'pkg/direktiv/engine.go doKnativeHTTPRequest @ v0.4.1',
    exampleBreaks: false,
  },
  {
    id: 7,
    title: 'Knative httpProtocol Enabled keeps plain HTTP open beside HTTPS',
    kind: 'page',
    features: ['services'],
    breaks:
      'net-contour 0.25 sets PermitInsecure when httpProtocol is Enabled (the Direktiv knative chart default): port 80 of the internal Envoy still serves plaintext',
    fix: '--strict sets config-network httpProtocol: Redirected and asserts that port 80 only redirects',
    source: 'knative-extensions/net-contour v0.25.0 pkg/reconciler/contour/resources/httpproxy.go',
    exampleBreaks: true,
  },
  {
    id: 8,
    title: 'kind has no LoadBalancer for the contour-external Envoy',
    kind: 'environment',
    features: [],
    breaks: 'the envoy Service stays pending; helm --wait hangs and the host cannot reach the ingress',
    fix: 'NodePort 31080/31443 on the envoy Service plus kind extraPortMappings to 127.0.0.1',
    source:
      'kubernetes/charts/knative/templates/contour.yaml @ v0.4.1; knative/serving release-0.25 kind e2e',
    exampleBreaks: true,
  },
  {
    id: 9,
    title: 'the service namespace is not created by the chart',
    kind: 'environment',
    features: [],
    breaks: 'helm install fails: the chart writes Secret and ServiceAccount into direktiv-services-direktiv',
    fix: 'create the service namespace before helm install',
    source: 'templates/functions-secrets.yaml, functions-sa-pod.yaml @ v0.4.1; Makefile cluster target',
    exampleBreaks: true,
  },
  {
    id: 10,
    title: 'certificates are read as tls.crt, tls.key and ca.crt',
    kind: 'page',
    features: ['upstream', 'grpc-tls'],
    breaks:
      'a Secret made with kubectl create secret tls has no ca.crt; the gRPC clients fail to load their CA',
    fix: 'issue every Direktiv component certificate from the CA ClusterIssuer direktiv-ca',
    source: 'pkg/util/grpc-util.go @ v0.4.1',
    exampleBreaks: false,
  },
];

export function errataFor(features: readonly Feature[]): Erratum[] {
  return ERRATA.filter((e) => e.features.length === 0 || e.features.some((f) => features.includes(f)));
}
