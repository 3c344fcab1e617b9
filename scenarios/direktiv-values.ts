// Values for Direktiv's own chart v0.4.1 (kubernetes/charts/direktiv @ v0.4.1) per scenario:
// the TLS keys of the profile (corrected: the keys the chart reads; as-documented: the page's
// keys, isolates.* included) plus the environment values a real install needs in both modes.
import { stringify } from 'yaml';
import type { Scenario } from './scenario.ts';

/** Certificate (and Secret) names: the page's "Simple example using cert-manager". */
export const CERT_NAMES = {
  ingress: 'direktiv-lb',
  http: 'direktiv-cert',
  functions: 'direktiv-cert-fn',
  flow: 'direktiv-cert-flow',
  engineIngress: 'direktiv-cert-ingress',
  knative: 'direktiv-cert-knative',
} as const;

export interface ImageRef {
  /** Repository without registry, e.g. vorteil/flow. */
  image: string;
  tag: string;
}

/**
 * Pinned images, from kind/versions.ts (another module): the chart's images take `registry` +
 * image + tag; the sidecar and init-pod images are used by the functions controller verbatim
 * (functions-cm-config.yaml), and the chart leaves them untagged, so pin them in full.
 */
export interface DirektivImages {
  registry?: string;
  flow?: ImageRef;
  secrets?: ImageRef;
  api?: ImageRef;
  ui?: ImageRef;
  functions?: ImageRef;
  /** Full reference of the Knative sidecar, e.g. vorteil/sidecar:v0.4.1. */
  sidecar?: string;
  /** Full reference of the pod-function init-pod image, e.g. vorteil/init-pod:v0.4.1. */
  initPod?: string;
}

export interface DirektivValuesOptions {
  images?: DirektivImages;
  /**
   * Chart default is Always. IfNotPresent lets images pre-loaded into kind nodes be used (pod
   * Jobs still pull: pkg/functions/pod.go hard-codes PullAlways).
   */
  pullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

// biome-ignore lint/suspicious/noExplicitAny: a Helm values tree is untyped YAML.
export type Values = Record<string, any>;

/** The values of Direktiv's chart for a scenario. Keys left out keep the chart's defaults. */
export function direktivValues(scenario: Scenario, opts: DirektivValuesOptions = {}): Values {
  const f = scenario.features;
  const doc = scenario.mode === 'as-documented';
  const N = scenario.namespace;
  const values: Values = {
    pullPolicy: opts.pullPolicy ?? 'IfNotPresent',
    // One Ingress rule for every profile: the traffic and the probes address the same host.
    ingress: { host: scenario.ingressHost, certificate: 'none' },
    // Gotcha 15: the chart hard-codes `.default` here; derive it so N != default works too.
    prometheus: { queryAddress: `http://direktiv-prometheus-service.${N}:9090` },
    api: { certificate: 'none' },
    ui: { certificate: 'none' },
    flow: {
      functionsProtocol: 'http',
      functionsCA: 'none',
      certificates: { flow: 'none', mtlsFlow: 'none', ingress: 'none', mtlsIngress: 'none' },
    },
    // Erratum 9's namespace (created by the harness before helm install).
    functions: { namespace: scenario.serviceNamespace, initPodCertificate: 'none' },
  };
  if (!doc) Object.assign(values.functions, { certificate: 'none', mtls: 'none' });

  if (f.includes('ingress')) values.ingress.certificate = CERT_NAMES.ingress;
  if (f.includes('upstream')) {
    values.api.certificate = CERT_NAMES.http;
    values.ui.certificate = CERT_NAMES.http;
  }
  if (f.includes('grpc-tls')) {
    values.flow.certificates.flow = CERT_NAMES.flow;
    values.flow.certificates.ingress = CERT_NAMES.engineIngress;
    // Erratum 1: the page's "Controller Certificates" say isolates.*; v0.4.1 reads functions.*.
    if (doc) values.isolates = { certificate: CERT_NAMES.functions, mtls: 'none' };
    else values.functions.certificate = CERT_NAMES.functions;
  }
  if (f.includes('grpc-mtls')) {
    // The mtls values are only compared with none (grpc-util.go); the page sets the same names.
    values.flow.certificates.mtlsFlow = CERT_NAMES.flow;
    values.flow.certificates.mtlsIngress = CERT_NAMES.engineIngress;
    (doc ? values.isolates : values.functions).mtls = CERT_NAMES.functions;
  }
  if (f.includes('services')) {
    values.functions.initPodCertificate = CERT_NAMES.flow;
    values.flow.functionsProtocol = 'https';
    values.flow.functionsCA = CERT_NAMES.knative;
  }

  const img = opts.images;
  if (img) {
    if (img.registry) values.registry = img.registry;
    for (const key of ['flow', 'secrets', 'api', 'ui', 'functions'] as const) {
      const ref = img[key];
      if (ref) values[key] = { ...values[key], image: ref.image, tag: ref.tag };
    }
    if (img.sidecar) values.functions.sidecar = img.sidecar;
    if (img.initPod) values.functions.initPodImage = img.initPod;
  }
  return values;
}

/** The values as a YAML file for `helm install -f`, with a header naming the scenario. */
export function toValuesYaml(values: Values, scenario?: Scenario): string {
  const head = scenario
    ? [
        `# Direktiv chart v0.4.1 values for ${scenario.name} (${scenario.mode})`,
        `# release namespace ${scenario.namespace}, service namespace ${scenario.serviceNamespace}`,
        ...(scenario.mode === 'as-documented'
          ? ['# as-documented: the TLS page verbatim (isolates.* keys do nothing in chart v0.4.1)']
          : []),
      ]
    : [];
  return [...head, stringify(values, { lineWidth: 0 })].join('\n');
}
