// What Direktiv's chart must render for a scenario, derived from the chart model
// (scenarios/direktiv-chart-model.ts): the Secret volumes and mounts, the ports the paths use,
// the readiness-probe schemes, the Contour and Ingress annotations, the ConfigMap entries the
// Go code reads. Each requirement is data; evaluate.ts judges rendered objects against it.
import { direktivPin } from '../../../kind/versions.ts';
import {
  direktivMounts,
  effectiveValues,
  isSet,
  type SecretMount,
} from '../../../scenarios/direktiv-chart-model.ts';
import { direktivValues, type Values } from '../../../scenarios/direktiv-values.ts';
import { dialName, PATHS, type PathId, type Scenario } from '../../../scenarios/index.ts';
import { knativeSettings, knativeState } from '../../../scenarios/knative-settings.ts';

export const RELEASE = direktivPin.releaseNames.direktiv;
/** Where Direktiv's components read certificates (pkg/util/grpc-util.go CertsForComponent). */
export const CERTS_ROOT = '/etc/direktiv/certs/';
export const UPSTREAM_TLS_ANNOTATION = 'projectcontour.io/upstream-protocol.tls';
export const FORCE_SSL_ANNOTATION = 'ingress.kubernetes.io/force-ssl-redirect';
export const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export interface ObjectKey {
  kind: string;
  name: string;
}

export type Check =
  | {
      kind: 'secret-mount';
      workload: ObjectKey;
      container: string;
      volume: string;
      secretName: string;
      mountPath: string;
    }
  /** No Secret under CERTS_ROOT beyond `allowed` (mount paths): an extra one would hang the pod. */
  | { kind: 'no-other-cert-mounts'; workload: ObjectKey; allowed: string[] }
  | { kind: 'service-port'; service: ObjectKey; port: number }
  | { kind: 'container-port'; workload: ObjectKey; container: string; port: number }
  | { kind: 'probe-scheme'; workload: ObjectKey; container: string; scheme: 'HTTP' | 'HTTPS' }
  /** `present: false`: the annotation must be absent. `lists`: a comma entry it must list. */
  | { kind: 'annotation'; object: ObjectKey; key: string; present: boolean; value?: string; lists?: string }
  | { kind: 'ingress-tls'; ingress: ObjectKey; secretName: string | null; host: string }
  | { kind: 'ingress-backend'; ingress: ObjectKey; path: string; service: string; port: number }
  /** An entry of the YAML file a ConfigMap carries (e.g. grpc-config.yaml: flow-tls). */
  | { kind: 'config-entry'; configMap: ObjectKey; key: string; value: string };

export interface Requirement {
  /** Stable across charts and runs: the key that lines results up side by side. */
  id: string;
  /** `Kind name` of the object the requirement is about. */
  object: string;
  /** What must hold, in words. */
  what: string;
  /** The value and the template or code that make it so. */
  because: string;
  check: Check;
}

/** Workloads that serve the paths whose server is rendered by the chart (v0.4.1 templates). */
const SERVERS: { path: PathId; deployment: string; container: string; source: string }[] = [
  { path: 'ingress->api', deployment: `${RELEASE}-api`, container: 'api', source: 'templates/api-*.yaml' },
  { path: 'ingress->ui', deployment: `${RELEASE}-ui`, container: 'ui', source: 'templates/ui-*.yaml' },
  {
    path: 'api->engine',
    deployment: RELEASE,
    container: 'ingress',
    source: 'templates/flow-deployment.yaml, flow-ingress-service-hl.yaml',
  },
  {
    path: 'sidecar->engine',
    deployment: RELEASE,
    container: 'ingress',
    source: 'templates/flow-deployment.yaml, flow-service-hl.yaml',
  },
  {
    path: 'engine->functions',
    deployment: `${RELEASE}-functions`,
    container: 'functions-controller',
    source: 'templates/functions-deployment.yaml, functions-service-hl.yaml',
  },
];

const deploymentName = (workload: string) => workload.replace(/^Deployment [^/]+\//, '');

/** The chart's values for a scenario: Direktiv's values module, the one source for them. */
export function chartValues(s: Scenario): Values {
  return direktivValues(s);
}

export function requirementsFor(s: Scenario, values: Values = chartValues(s)): Requirement[] {
  const v = effectiveValues(values);
  const N = s.namespace;
  const out: Requirement[] = [];
  const add = (r: Requirement) => out.push(r);

  // 1. Secret mounts the model says the chart renders (Deployments in N; the controller's
  //    Knative and pod mounts are made at run time by Go code, not by the chart).
  const mounts = direktivMounts(values, { namespace: N, knative: knativeState(knativeSettings(s)) }).filter(
    (m) => m.workload.startsWith(`Deployment ${N}/`) && m.volume && m.mountPath,
  );
  const byMount = new Map<string, SecretMount[]>();
  for (const m of mounts) {
    const key = `${m.workload}|${m.container}|${m.volume}`;
    byMount.set(key, [...(byMount.get(key) ?? []), m]);
  }
  const allowed = new Map<string, string[]>();
  for (const group of byMount.values()) {
    const m = group[0] as SecretMount;
    const name = deploymentName(m.workload);
    allowed.set(name, [...(allowed.get(name) ?? []), m.mountPath as string]);
    const paths = [...new Set(group.map((g) => g.path).filter(Boolean))].join(', ');
    add({
      id: `mount:${name}:${m.container}:${m.volume}`,
      object: `Deployment ${name}`,
      what: `mounts Secret ${m.secretName} (volume ${m.volume}) at ${m.mountPath} in container ${m.container}`,
      because: `${m.value}${paths ? ` (${paths})` : ''}; ${m.source}`,
      check: {
        kind: 'secret-mount',
        workload: { kind: 'Deployment', name },
        container: m.container,
        volume: m.volume as string,
        secretName: m.secretName,
        mountPath: m.mountPath as string,
      },
    });
  }
  for (const name of [...new Set(SERVERS.map((x) => x.deployment))]) {
    const paths = (allowed.get(name) ?? []).sort();
    add({
      id: `no-other-mounts:${name}`,
      object: `Deployment ${name}`,
      what: paths.length
        ? `mounts no Secret under ${CERTS_ROOT} other than at ${paths.join(', ')}`
        : `mounts no Secret under ${CERTS_ROOT}`,
      because:
        'a Secret the profile does not create leaves the pod in ContainerCreating; one the values do not ask for changes what the component serves',
      check: { kind: 'no-other-cert-mounts', workload: { kind: 'Deployment', name }, allowed: paths },
    });
  }

  // 2. Ports: the Service the client dials and the container behind it, on the path's port.
  for (const srv of SERVERS) {
    const p = PATHS[srv.path];
    add({
      id: `service-port:${p.service}:${p.port}`,
      object: `Service ${p.service}`,
      what: `exposes port ${p.port}`,
      because: `${srv.path} dials ${p.service}.${N}:${p.port}; ${srv.source}`,
      check: { kind: 'service-port', service: { kind: 'Service', name: p.service }, port: p.port },
    });
    add({
      id: `container-port:${srv.deployment}:${srv.container}:${p.port}`,
      object: `Deployment ${srv.deployment}`,
      what: `container ${srv.container} listens on ${p.port}`,
      because: `the server of ${srv.path}; ${srv.source}`,
      check: {
        kind: 'container-port',
        workload: { kind: 'Deployment', name: srv.deployment },
        container: srv.container,
        port: p.port,
      },
    });
  }

  // 3. HTTPS on the API and UI: the kubelet's probe scheme and Contour's upstream protocol.
  for (const [comp, secret, value, service] of [
    ['api', v.apiCertificate, 'api.certificate', `${RELEASE}-api-service`],
    ['ui', v.uiCertificate, 'ui.certificate', `${RELEASE}-ui`],
  ] as const) {
    const tls = isSet(secret);
    add({
      id: `probe-scheme:${comp}`,
      object: `Deployment ${RELEASE}-${comp}`,
      what: `readinessProbe of container ${comp} uses scheme ${tls ? 'HTTPS' : 'HTTP'}`,
      because: `${value}: ${secret}; templates/${comp}-deployment.yaml (the server speaks ${tls ? 'only TLS' : 'plain HTTP'} on 8080)`,
      check: {
        kind: 'probe-scheme',
        workload: { kind: 'Deployment', name: `${RELEASE}-${comp}` },
        container: comp,
        scheme: tls ? 'HTTPS' : 'HTTP',
      },
    });
    add({
      id: `annotation:${service}:${UPSTREAM_TLS_ANNOTATION}`,
      object: `Service ${service}`,
      what: tls
        ? `has annotation ${UPSTREAM_TLS_ANNOTATION} listing port 8080`
        : `has no annotation ${UPSTREAM_TLS_ANNOTATION}`,
      because: `${value}: ${secret}; templates/${comp}-service.yaml (Envoy dials the upstream with TLS only when annotated)`,
      check: {
        kind: 'annotation',
        object: { kind: 'Service', name: service },
        key: UPSTREAM_TLS_ANNOTATION,
        present: tls,
        ...(tls ? { lists: '8080' } : {}),
      },
    });
  }

  // 4. The Ingress: TLS and the redirect from port 80 when ingress.certificate is set.
  const ingress = { kind: 'Ingress', name: `${RELEASE}-ingress` };
  const ingressTls = isSet(v.ingressCertificate);
  add({
    id: 'ingress-tls',
    object: `Ingress ${ingress.name}`,
    what: ingressTls
      ? `spec.tls serves Secret ${v.ingressCertificate} for host ${v.ingressHost}`
      : 'has no spec.tls',
    because: `ingress.certificate: ${v.ingressCertificate}; templates/ingress.yaml`,
    check: {
      kind: 'ingress-tls',
      ingress,
      secretName: ingressTls ? v.ingressCertificate : null,
      host: v.ingressHost,
    },
  });
  add({
    id: `annotation:${ingress.name}:${FORCE_SSL_ANNOTATION}`,
    object: `Ingress ${ingress.name}`,
    what: ingressTls
      ? `has annotation ${FORCE_SSL_ANNOTATION}: "true"`
      : `has no annotation ${FORCE_SSL_ANNOTATION}`,
    because: `ingress.certificate: ${v.ingressCertificate}; templates/ingress.yaml (port 80 must only redirect)`,
    check: {
      kind: 'annotation',
      object: ingress,
      key: FORCE_SSL_ANNOTATION,
      present: ingressTls,
      ...(ingressTls ? { value: 'true' } : {}),
    },
  });
  add({
    id: `annotation:${ingress.name}:${INGRESS_CLASS_ANNOTATION}`,
    object: `Ingress ${ingress.name}`,
    what: `has annotation ${INGRESS_CLASS_ANNOTATION}: contour-external`,
    because: 'ingress.class default; only the contour-external Envoy (the one the host reaches) serves it',
    check: {
      kind: 'annotation',
      object: ingress,
      key: INGRESS_CLASS_ANNOTATION,
      present: true,
      value: 'contour-external',
    },
  });
  for (const [path, id] of [
    ['/api', 'ingress->api'],
    ['/', 'ingress->ui'],
  ] as const) {
    const p = PATHS[id];
    add({
      id: `ingress-backend:${path}`,
      object: `Ingress ${ingress.name}`,
      what: `routes ${path} to ${p.service}:${p.port}`,
      because: `${id}; templates/ingress.yaml`,
      check: { kind: 'ingress-backend', ingress, path, service: p.service, port: p.port },
    });
  }

  // 5. ConfigMap entries the Go code reads (grpc-util.go, functions and flow config).
  const grpc = { kind: 'ConfigMap', name: `${RELEASE}-config-grpc` };
  const entry = (cm: ObjectKey, key: string, value: string, because: string) =>
    add({
      id: `config:${cm.name}:${key}`,
      object: `ConfigMap ${cm.name}`,
      what: `${key}: ${value}`,
      because,
      check: { kind: 'config-entry', configMap: cm, key, value },
    });
  const grpcSrc = 'templates/grpc-cm-config.yaml; pkg/util/grpc-util.go';
  entry(grpc, 'flow-tls', v.flow, `flow.certificates.flow; ${grpcSrc}`);
  entry(grpc, 'flow-mtls', v.mtlsFlow, `flow.certificates.mtlsFlow; ${grpcSrc}`);
  entry(grpc, 'ingress-tls', v.ingress, `flow.certificates.ingress; ${grpcSrc}`);
  entry(grpc, 'ingress-mtls', v.mtlsIngress, `flow.certificates.mtlsIngress; ${grpcSrc}`);
  entry(grpc, 'functions-tls', v.functionsCertificate, `functions.certificate; ${grpcSrc}`);
  entry(grpc, 'functions-mtls', v.functionsMtls, `functions.mtls; ${grpcSrc}`);
  const svcNs = v.serviceNamespace;
  const dial = (id: PathId) => dialName(id, N, svcNs, { ingressHost: v.ingressHost });
  // The dns2 targets are the names the gRPC clients verify (the certificates' SANs) and the ports.
  entry(
    grpc,
    'functions-endpoint',
    `dns2:///${dial('engine->functions')}:${PATHS['engine->functions'].port}`,
    `the target of api->functions and engine->functions; ${grpcSrc}`,
  );
  entry(
    grpc,
    'flow-enpoint',
    `dns2:///${dial('sidecar->engine')}:${PATHS['sidecar->engine'].port}`,
    `the target of sidecar->engine and pod->engine (the key is misspelt in v0.4.1); ${grpcSrc}`,
  );
  entry(
    grpc,
    'ingress-endpoint',
    `dns2:///${dial('api->engine')}:${PATHS['api->engine'].port}`,
    `the target of api->engine; ${grpcSrc}`,
  );
  const fnCm = { kind: 'ConfigMap', name: `${RELEASE}-config-functions` };
  entry(
    fnCm,
    'init-pod-certificate',
    v.initPodCertificate,
    'functions.initPodCertificate; templates/functions-cm-config.yaml; pkg/functions/pod.go',
  );
  entry(fnCm, 'namespace', svcNs, 'functions.namespace; templates/functions-cm-config.yaml');
  entry(
    { kind: 'ConfigMap', name: `${RELEASE}-config-flow` },
    'functions-protocol',
    v.functionsProtocol,
    'flow.functionsProtocol; templates/flow-cm-config.yaml; pkg/direktiv/engine.go',
  );
  return out;
}
