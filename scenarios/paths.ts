// The ten network paths of Direktiv v0.4.1 (chart release `direktiv`), keyed by stable IDs.
// Path IDs appear on the command line, in JUnit names and in reports: never rename one.

export const PATH_IDS = [
  'client->ingress',
  'ingress->api',
  'ingress->ui',
  'api->engine',
  'api->functions',
  'engine->functions',
  'sidecar->engine',
  'pod->engine',
  'engine->knative',
  'engine->pod',
] as const;

export type PathId = (typeof PATH_IDS)[number];

/** The wire protocol a path speaks, which decides the probe that checks it. */
export type PathProtocol = 'ingress-https' | 'http' | 'grpc' | 'knative-http' | 'pod-http';

/** The component names used for clients and servers (and for client-certificate lookup). */
export type Component =
  | 'user'
  | 'envoy-external'
  | 'envoy-internal'
  | 'api'
  | 'ui'
  | 'engine'
  | 'functions'
  | 'sidecar'
  | 'init-pod'
  // Not path ends: senders a node capture sees beside the paths (kubelet readiness probes,
  // net-contour's probes of the Envoys), named so their flows are reported, not attributed.
  | 'kubelet'
  | 'knative-controller';

export interface PathInfo {
  id: PathId;
  client: Component;
  server: Component;
  protocol: PathProtocol;
  /** TLS port (the only port for in-cluster paths). */
  port: number;
  /** Plain port when it differs (ingress 80, internal Envoy 80). */
  plainPort?: number;
  /** Direktiv chart values that control the path. */
  controlledBy: string;
  /** Kubernetes Service (or host pattern) the client dials, before namespace qualification. */
  service: string;
  /** What a person reads in a report. */
  description: string;
}

export const PATHS: Record<PathId, PathInfo> = {
  'client->ingress': {
    id: 'client->ingress',
    client: 'user',
    server: 'envoy-external',
    protocol: 'ingress-https',
    port: 443,
    plainPort: 80,
    controlledBy: 'ingress.certificate, ingress.host',
    service: 'contour-external/envoy',
    description: "a user's browser or CLI to the contour-external Envoy",
  },
  'ingress->api': {
    id: 'ingress->api',
    client: 'envoy-external',
    server: 'api',
    protocol: 'http',
    port: 8080,
    controlledBy: 'api.certificate',
    service: 'direktiv-api-service',
    description: 'contour-external Envoy to the API',
  },
  'ingress->ui': {
    id: 'ingress->ui',
    client: 'envoy-external',
    server: 'ui',
    protocol: 'http',
    port: 8080,
    controlledBy: 'ui.certificate',
    service: 'direktiv-ui',
    description: 'contour-external Envoy to the UI',
  },
  'api->engine': {
    id: 'api->engine',
    client: 'api',
    server: 'engine',
    protocol: 'grpc',
    port: 6666,
    controlledBy: 'flow.certificates.ingress, flow.certificates.mtlsIngress',
    service: 'direktiv-ingress-hl',
    description: 'API to the engine ingress gRPC server',
  },
  'api->functions': {
    id: 'api->functions',
    client: 'api',
    server: 'functions',
    protocol: 'grpc',
    port: 5555,
    controlledBy: 'functions.certificate, functions.mtls',
    service: 'direktiv-functions-hl',
    description: 'API to the functions controller',
  },
  'engine->functions': {
    id: 'engine->functions',
    client: 'engine',
    server: 'functions',
    protocol: 'grpc',
    port: 5555,
    controlledBy: 'functions.certificate, functions.mtls',
    service: 'direktiv-functions-hl',
    description: 'engine to the functions controller',
  },
  'sidecar->engine': {
    id: 'sidecar->engine',
    client: 'sidecar',
    server: 'engine',
    protocol: 'grpc',
    port: 7777,
    controlledBy: 'flow.certificates.flow, flow.certificates.mtlsFlow',
    service: 'direktiv-flow-hl',
    description: 'Knative service sidecar to the engine flow gRPC server',
  },
  'pod->engine': {
    id: 'pod->engine',
    client: 'init-pod',
    server: 'engine',
    protocol: 'grpc',
    port: 7777,
    controlledBy: 'flow.certificates.flow, flow.certificates.mtlsFlow',
    service: 'direktiv-flow-hl',
    description: 'pod-function init-pod/sidecar to the engine flow gRPC server',
  },
  'engine->knative': {
    id: 'engine->knative',
    client: 'engine',
    server: 'envoy-internal',
    protocol: 'knative-http',
    port: 443,
    plainPort: 80,
    controlledBy: 'flow.functionsProtocol, flow.functionsCA, TLSCertificateDelegation, config-contour',
    service: 'contour-internal/envoy',
    description: 'engine to a Knative service host on the contour-internal Envoy',
  },
  'engine->pod': {
    id: 'engine->pod',
    client: 'engine',
    server: 'init-pod',
    protocol: 'pod-http',
    port: 8890,
    controlledBy: 'functions.initPodCertificate, flow.functionsCA',
    service: '<a-b-c-d>.<service-namespace>.pod',
    description: 'engine to a pod function (init-pod server)',
  },
};

export function isPathId(s: string): s is PathId {
  return (PATH_IDS as readonly string[]).includes(s);
}

/**
 * The host name the real client dials for a path: certificates must carry it, probes send it as
 * SNI/authority. `ns` is the release namespace, `svcNs` the service namespace.
 */
export function dialName(
  id: PathId,
  ns: string,
  svcNs: string,
  opts: { ingressHost: string; knativeService?: string; podIp?: string },
): string {
  switch (id) {
    case 'client->ingress':
      return opts.ingressHost;
    case 'engine->knative':
      // doKnativeHTTPRequest: `<proto>://<svc>.<service namespace>` (no port, no cluster suffix)
      return `${opts.knativeService ?? 'workflow-probe'}.${svcNs}`;
    case 'engine->pod':
      // doPodHTTPRequest (https): `<a-b-c-d>.<service namespace>.pod:8890`
      return `${(opts.podIp ?? '10.244.0.99').replaceAll('.', '-')}.${svcNs}.pod`;
    default:
      // In-cluster gRPC targets are dns2:///<svc>.<ns>:<port>; Envoy dials the Service in ns.
      return `${PATHS[id].service}.${ns}`;
  }
}
