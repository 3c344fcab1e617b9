// A model of what Direktiv v0.4.1's chart and controller code make each component mount, and
// which network paths end up TLS, given the values of Direktiv's chart. It reads the values
// exactly as the chart does (so the page's isolates.* keys change nothing) and states for every
// Secret mount the role, the name the peer dials and the usages Go's crypto/tls demands.
// Sources: kubernetes/charts/direktiv/templates/*.yaml and pkg/... @ v0.4.1 (cited per mount).
import type { Values } from './direktiv-values.ts';
import type { KnativeState } from './knative-settings.ts';
import { dialName, PATH_IDS, type PathId } from './paths.ts';

export type MountRole = 'server' | 'client' | 'ca';
export type MountComponent =
  | 'engine'
  | 'api'
  | 'ui'
  | 'functions'
  | 'sidecar'
  | 'init-pod'
  | 'envoy-external'
  | 'envoy-internal';

export interface SecretMount {
  component: MountComponent;
  /** The workload and container, as a person finds them with kubectl. */
  workload: string;
  container: string;
  namespace: string;
  secretName: string;
  /** Volume name and mount path; the Envoys read their Secret through the API instead. */
  volume?: string;
  mountPath?: string;
  role: MountRole;
  /** The path this use of the Secret serves; null for the engine dialing its own servers. */
  path: PathId | null;
  /** server: the name its clients dial; client: the name it dials; ca: the servers it verifies. */
  dialNames: string[];
  /** Whether the component reads tls.crt/tls.key, and ca.crt. */
  reads: { keyPair: boolean; caCrt: boolean };
  /**
   * Extended key usages the certificate must allow (Go: a certificate that lists EKUs must list
   * serverAuth when a client verifies it, clientAuth when an mTLS server verifies it; no EKU
   * list means any).
   */
  needs: { serverAuth: boolean; clientAuth: boolean };
  /** The Direktiv (or Knative) value that causes the mount. */
  value: string;
  /** Template or Go file that makes the mount. */
  source: string;
}

/** The values Direktiv's chart v0.4.1 falls back to (kubernetes/charts/direktiv/values.yaml). */
export const DIREKTIV_CHART_DEFAULTS = {
  ingressCertificate: 'none',
  apiCertificate: 'none',
  uiCertificate: 'none',
  flowCertificates: { flow: 'none', mtlsFlow: 'none', ingress: 'none', mtlsIngress: 'none' },
  functionsCertificate: 'none',
  functionsMtls: 'none',
  initPodCertificate: 'none',
  functionsNamespace: 'direktiv-services-direktiv',
  functionsProtocol: 'http',
  functionsCA: 'none',
} as const;

/** The TLS-relevant values as the v0.4.1 templates read them (defaults applied). */
export interface EffectiveValues {
  ingressCertificate: string;
  ingressHost: string;
  apiCertificate: string;
  uiCertificate: string;
  flow: string;
  mtlsFlow: string;
  ingress: string;
  mtlsIngress: string;
  functionsCertificate: string;
  functionsMtls: string;
  initPodCertificate: string;
  serviceNamespace: string;
  functionsProtocol: string;
  functionsCA: string;
  /** Keys the chart does not read but a user may have set (the page's isolates.*). */
  ignored: string[];
}

const str = (v: unknown, d: string): string => (v === undefined || v === null ? d : String(v));
/** Templates test `ne X "none"`; grpc-util.go also treats "" as off, which the chart never writes. */
export const isSet = (v: string): boolean => v !== 'none' && v !== '';

export function effectiveValues(values: Values): EffectiveValues {
  const d = DIREKTIV_CHART_DEFAULTS;
  const certs = values.flow?.certificates ?? {};
  const ignored: string[] = [];
  for (const k of ['certificate', 'mtls'] as const) {
    if (values.isolates?.[k] !== undefined && isSet(String(values.isolates[k])))
      ignored.push(`isolates.${k}`);
  }
  return {
    ingressCertificate: str(values.ingress?.certificate, d.ingressCertificate),
    ingressHost: str(values.ingress?.host, ''),
    apiCertificate: str(values.api?.certificate, d.apiCertificate),
    uiCertificate: str(values.ui?.certificate, d.uiCertificate),
    flow: str(certs.flow, d.flowCertificates.flow),
    mtlsFlow: str(certs.mtlsFlow, d.flowCertificates.mtlsFlow),
    ingress: str(certs.ingress, d.flowCertificates.ingress),
    mtlsIngress: str(certs.mtlsIngress, d.flowCertificates.mtlsIngress),
    functionsCertificate: str(values.functions?.certificate, d.functionsCertificate),
    functionsMtls: str(values.functions?.mtls, d.functionsMtls),
    initPodCertificate: str(values.functions?.initPodCertificate, d.initPodCertificate),
    serviceNamespace: str(values.functions?.namespace, d.functionsNamespace),
    functionsProtocol: str(values.flow?.functionsProtocol, d.functionsProtocol),
    functionsCA: str(values.flow?.functionsCA, d.functionsCA),
    ignored,
  };
}

export interface ModelContext {
  /** Direktiv's release namespace N. */
  namespace: string;
  /** The Knative side (config-contour default-tls-secret, config-network httpProtocol). */
  knative: KnativeState;
}

/** Every Secret the values make a component mount (or, for the Envoys, read). */
export function direktivMounts(values: Values, ctx: ModelContext): SecretMount[] {
  const v = effectiveValues(values);
  const N = ctx.namespace;
  const S = v.serviceNamespace;
  const dial = (id: PathId) => dialName(id, N, S, { ingressHost: v.ingressHost });
  const out: SecretMount[] = [];
  const add = (m: SecretMount) => out.push(m);

  // client->ingress: the contour-external Envoy serves the Ingress's TLS Secret, which Contour
  // reads from the Ingress's namespace (templates/ingress.yaml spec.tls.secretName).
  if (isSet(v.ingressCertificate)) {
    add({
      component: 'envoy-external',
      workload: 'DaemonSet contour-external/envoy',
      container: 'envoy',
      namespace: N,
      secretName: v.ingressCertificate,
      role: 'server',
      path: 'client->ingress',
      dialNames: [dial('client->ingress')],
      reads: { keyPair: true, caCrt: false },
      needs: { serverAuth: true, clientAuth: false },
      value: 'ingress.certificate',
      source: 'templates/ingress.yaml (spec.tls)',
    });
  }

  // ingress->api / ingress->ui: HTTPS on 8080 from /etc/direktiv/certs/http (tls.key/tls.crt,
  // ca.crt unused). Contour 1.14 does not verify the upstream certificate, so no EKU need; the
  // harness's probe still checks the name.
  const http = [
    [
      'api',
      v.apiCertificate,
      'ingress->api',
      'api.certificate',
      'templates/api-deployment.yaml (volume certs); pkg/api/server.go Start',
    ],
    [
      'ui',
      v.uiCertificate,
      'ingress->ui',
      'ui.certificate',
      'templates/ui-deployment.yaml (volume certs); reactjs-embed main.go',
    ],
  ] as const;
  for (const [comp, secret, path, value, source] of http) {
    if (!isSet(secret)) continue;
    add({
      component: comp,
      workload: `Deployment ${N}/direktiv-${comp}`,
      container: comp,
      namespace: N,
      secretName: secret,
      volume: 'certs',
      mountPath: '/etc/direktiv/certs/http',
      role: 'server',
      path,
      dialNames: [dial(path)],
      reads: { keyPair: true, caCrt: false },
      needs: { serverAuth: false, clientAuth: false },
      value,
      source,
    });
  }

  // gRPC (pkg/util/grpc-util.go): a server reads tls.crt/tls.key, and ca.crt as ClientCAs under
  // mTLS; a client reads ca.crt (NewClientTLSFromFile), and under mTLS presents the same
  // tls.crt/tls.key as its client certificate. Servers are verified by name (the dns2 target).
  type Who = Pick<SecretMount, 'component' | 'workload' | 'container' | 'namespace' | 'path' | 'source'>;
  const grpc = (g: {
    secret: string;
    mtls: string;
    volume: string;
    mountPath: string;
    value: string;
    dialName: string;
    servers: Who[];
    clients: Who[];
  }) => {
    if (!isSet(g.secret)) return;
    const m = isSet(g.mtls);
    const common = {
      secretName: g.secret,
      volume: g.volume,
      mountPath: g.mountPath,
      value: g.value,
      dialNames: [g.dialName],
    };
    for (const s of g.servers) {
      add({
        ...s,
        ...common,
        role: 'server',
        reads: { keyPair: true, caCrt: m },
        needs: { serverAuth: true, clientAuth: false },
      });
    }
    for (const c of g.clients) {
      add({
        ...c,
        ...common,
        role: 'client',
        reads: { keyPair: m, caCrt: true },
        needs: { serverAuth: false, clientAuth: m },
      });
    }
  };
  const engine: Omit<Who, 'path' | 'source'> = {
    component: 'engine',
    workload: `Deployment ${N}/direktiv`,
    container: 'ingress',
    namespace: N,
  };
  const api: Omit<Who, 'path' | 'source'> = {
    component: 'api',
    workload: `Deployment ${N}/direktiv-api`,
    container: 'api',
    namespace: N,
  };
  const functions: Omit<Who, 'path' | 'source'> = {
    component: 'functions',
    workload: `Deployment ${N}/direktiv-functions`,
    container: 'functions-controller',
    namespace: N,
  };
  const flowServer = 'templates/flow-deployment.yaml (volume flowcerts); pkg/direktiv/flow.go GrpcStart';

  grpc({
    secret: v.flow,
    mtls: v.mtlsFlow,
    volume: 'flowcerts',
    mountPath: '/etc/direktiv/certs/flow',
    value: 'flow.certificates.flow',
    dialName: dial('sidecar->engine'),
    servers: [
      { ...engine, path: 'sidecar->engine', source: flowServer },
      { ...engine, path: 'pod->engine', source: flowServer },
    ],
    clients: [
      // The engine dials its own flow server (engine.go flowClient) with the same mount.
      {
        ...engine,
        path: null,
        source:
          'templates/flow-deployment.yaml (volume flowcerts); pkg/direktiv/engine.go (GetEndpointTLS flow)',
      },
      // Knative service sidecars: the controller mounts the Secret of the same name in S.
      {
        component: 'sidecar',
        workload: `Knative Services in ${S}`,
        container: 'direktiv-sidecar',
        namespace: S,
        path: 'sidecar->engine',
        source:
          'pkg/functions/kube.go createVolumes, makeContainers (flowcerts); cmd/sidecar/local-server.go',
      },
      // Pod functions: the Job's init-container and sidecar container mount it too.
      {
        component: 'init-pod',
        workload: `Jobs ${S}/direktiv-job-*`,
        container: 'init-container, direktiv-sidecar',
        namespace: S,
        path: 'pod->engine',
        source: 'pkg/functions/pod.go (volume flowcerts); cmd/init-pod/main.go',
      },
    ],
  });

  grpc({
    secret: v.ingress,
    mtls: v.mtlsIngress,
    volume: 'ingresscerts',
    mountPath: '/etc/direktiv/certs/ingress',
    value: 'flow.certificates.ingress',
    dialName: dial('api->engine'),
    servers: [
      {
        ...engine,
        path: 'api->engine',
        source: 'templates/flow-deployment.yaml (volume ingresscerts); pkg/direktiv/grpc.go GrpcStart',
      },
    ],
    clients: [
      {
        ...api,
        path: 'api->engine',
        source: 'templates/api-deployment.yaml (volume ingresscerts); pkg/api/server.go initDirektiv',
      },
      {
        ...engine,
        path: null,
        source:
          'templates/flow-deployment.yaml (volume ingresscerts); pkg/direktiv/engine.go (GetEndpointTLS ingress)',
      },
    ],
  });

  const fnServer = 'templates/functions-deployment.yaml (volume certs); pkg/functions/server.go GrpcStart';
  grpc({
    secret: v.functionsCertificate,
    mtls: v.functionsMtls,
    volume: 'functionscerts',
    mountPath: '/etc/direktiv/certs/functions',
    value: 'functions.certificate',
    dialName: dial('engine->functions'),
    servers: [
      { ...functions, path: 'api->functions', source: fnServer },
      { ...functions, path: 'engine->functions', source: fnServer },
    ],
    clients: [
      {
        ...engine,
        path: 'engine->functions',
        source:
          'templates/flow-deployment.yaml (volume functionscerts); pkg/direktiv/engine.go (GetEndpointTLS functions)',
      },
      // Erratum 2: the API is a client of 5555 too.
      {
        ...api,
        path: 'api->functions',
        source: 'templates/api-deployment.yaml (volume functionscerts); pkg/api/server.go initFunctions',
      },
    ],
  });
  // The functions controller calls its volume `certs` (functions-deployment.yaml).
  for (const m of out) if (m.component === 'functions') m.volume = 'certs';

  // engine->pod: the init-container serves 8890 with /etc/direktiv/certs/http when the key
  // exists (cmd/init-pod/init.go); the engine dials <a-b-c-d>.<S>.pod (engine.go doPodHTTPRequest).
  if (isSet(v.initPodCertificate)) {
    add({
      component: 'init-pod',
      workload: `Jobs ${S}/direktiv-job-*`,
      container: 'init-container',
      namespace: S,
      secretName: v.initPodCertificate,
      volume: 'podcerts',
      mountPath: '/etc/direktiv/certs/http',
      role: 'server',
      path: 'engine->pod',
      dialNames: [dial('engine->pod')],
      reads: { keyPair: true, caCrt: false },
      needs: { serverAuth: true, clientAuth: false },
      value: 'functions.initPodCertificate',
      source:
        'functions-cm-config.yaml (init-pod-certificate); pkg/functions/pod.go (volume podcerts); cmd/init-pod/init.go',
    });
  }

  // engine->knative: the internal Envoy serves config-contour's default-tls-secret on every
  // Knative host without TLS of its own (net-contour v0.25.0 httpproxy.go).
  if (ctx.knative.defaultTlsSecret) {
    const [ns, name] = ctx.knative.defaultTlsSecret.split('/') as [string, string];
    add({
      component: 'envoy-internal',
      workload: 'DaemonSet contour-internal/envoy',
      container: 'envoy',
      namespace: ns,
      secretName: name,
      role: 'server',
      path: 'engine->knative',
      dialNames: [dial('engine->knative')],
      reads: { keyPair: true, caCrt: false },
      needs: { serverAuth: true, clientAuth: false },
      value: 'config-contour default-tls-secret',
      source: 'knative chart templates/net-contour.yaml (config-contour); net-contour v0.25.0 httpproxy.go',
    });
  }

  // functionsProtocol https: volume podca = Secret functionsCA in N; the engine adds its ca.crt
  // to the system pool for Knative and pod calls (engine.go createTransport).
  if (v.functionsProtocol === 'https') {
    for (const path of ['engine->knative', 'engine->pod'] as const) {
      add({
        component: 'engine',
        workload: `Deployment ${N}/direktiv`,
        container: 'ingress',
        namespace: N,
        secretName: v.functionsCA,
        volume: 'podca',
        mountPath: '/etc/direktiv/certs/ca',
        role: 'ca',
        path,
        dialNames: [dial(path)],
        reads: { keyPair: false, caCrt: true },
        needs: { serverAuth: false, clientAuth: false },
        value: 'flow.functionsCA',
        source: 'templates/flow-deployment.yaml (volume podca); pkg/direktiv/engine.go createTransport',
      });
    }
  }
  return out;
}

export interface PathTls {
  /** The server speaks TLS on the path's TLS port. */
  serverTls: boolean;
  /** The real client uses TLS. */
  clientTls: boolean;
  /** The server demands a client certificate (and the client presents one). */
  mtls: boolean;
  /** Plain HTTP still served on the plain port beside TLS (Envoys). */
  plainOpen: boolean;
}

/** Whether each path ends up TLS under the values, as the chart and code decide. */
export function pathTls(values: Values, ctx: ModelContext): Record<PathId, PathTls> {
  const v = effectiveValues(values);
  const grpc = (tls: string, mtls: string): PathTls => ({
    serverTls: isSet(tls),
    clientTls: isSet(tls),
    // grpc-util.go: mtls without the TLS mount fails to load the key pair; both are needed.
    mtls: isSet(tls) && isSet(mtls),
    plainOpen: false,
  });
  const https = v.functionsProtocol === 'https';
  const knativeTls = ctx.knative.defaultTlsSecret !== undefined;
  const out: Record<PathId, PathTls> = {
    // Contour serves the Ingress's TLS and redirects port 80 (force-ssl-redirect, ingress.yaml).
    'client->ingress': {
      serverTls: isSet(v.ingressCertificate),
      clientTls: isSet(v.ingressCertificate),
      mtls: false,
      plainOpen: false,
    },
    // The upstream-protocol.tls annotation on the Service makes Envoy dial TLS (api-service.yaml).
    'ingress->api': {
      serverTls: isSet(v.apiCertificate),
      clientTls: isSet(v.apiCertificate),
      mtls: false,
      plainOpen: false,
    },
    'ingress->ui': {
      serverTls: isSet(v.uiCertificate),
      clientTls: isSet(v.uiCertificate),
      mtls: false,
      plainOpen: false,
    },
    'api->engine': grpc(v.ingress, v.mtlsIngress),
    'api->functions': grpc(v.functionsCertificate, v.functionsMtls),
    'engine->functions': grpc(v.functionsCertificate, v.functionsMtls),
    'sidecar->engine': grpc(v.flow, v.mtlsFlow),
    'pod->engine': grpc(v.flow, v.mtlsFlow),
    'engine->knative': {
      serverTls: knativeTls,
      clientTls: https,
      mtls: false,
      plainOpen: ctx.knative.httpProtocol === 'Enabled',
    },
    'engine->pod': {
      serverTls: isSet(v.initPodCertificate),
      clientTls: https,
      mtls: false,
      plainOpen: false,
    },
  };
  for (const id of PATH_IDS) if (!out[id]) throw new Error(`pathTls: no model for ${id}`);
  return out;
}
