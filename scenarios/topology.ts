// Where each component of Direktiv v0.4.1 runs: the boxes of the report's topology diagram and
// the namespaces that group them. The arrows come from PATHS (judged) and EXEMPTIONS (always
// plaintext), so a new path or exemption is drawn without new drawing code; a new component
// must get an entry here (the Record type makes the compiler ask for it).
import { KNATIVE_SERVING_NAMESPACE } from './knative-settings.ts';
import type { Component } from './paths.ts';

/** Components that are path ends, plus the ones only exempt connections or issuance touch. */
export type TopologyNode =
  | Exclude<Component, 'kubelet' | 'knative-controller'>
  | 'secrets'
  | 'postgres'
  | 'fluent-bit'
  | 'prometheus'
  | 'activator'
  | 'queue-proxy'
  | 'cert-manager';

/** Namespaces by role; the release and service namespaces come from the scenario. */
export type NamespaceRole =
  | 'outside'
  | 'contour-external'
  | 'release'
  | 'service'
  | 'contour-internal'
  | 'knative'
  | 'cert-manager';

export interface TopologyComponent {
  /** The box's title. */
  label: string;
  /** One line under the title: the workload or container. */
  detail: string;
  namespace: NamespaceRole;
}

// Declaration order is the model order the layout keeps: callers before the servers they call,
// so the arrows that point back up (a Knative sidecar calling the engine) are the ones reversed.
export const TOPOLOGY: Record<TopologyNode, TopologyComponent> = {
  user: { label: 'user', detail: 'browser or CLI', namespace: 'outside' },
  'envoy-external': { label: 'Envoy (external)', detail: 'ingress', namespace: 'contour-external' },
  api: { label: 'api', detail: 'direktiv-api', namespace: 'release' },
  ui: { label: 'ui', detail: 'direktiv-ui', namespace: 'release' },
  'envoy-internal': { label: 'Envoy (internal)', detail: 'Knative hosts', namespace: 'contour-internal' },
  activator: { label: 'activator', detail: 'Knative Serving', namespace: 'knative' },
  'queue-proxy': { label: 'queue-proxy', detail: 'Knative service pod', namespace: 'service' },
  sidecar: { label: 'sidecar', detail: 'Knative service', namespace: 'service' },
  'init-pod': { label: 'init-pod', detail: 'pod function', namespace: 'service' },
  prometheus: { label: 'Prometheus', detail: 'metrics scrapes', namespace: 'release' },
  engine: { label: 'flow (engine)', detail: '6666 ingress, 7777 flow', namespace: 'release' },
  functions: { label: 'functions', detail: 'controller', namespace: 'release' },
  secrets: { label: 'secrets', detail: 'engine pod, 127.0.0.1', namespace: 'release' },
  'fluent-bit': { label: 'fluent-bit', detail: 'log sidecars', namespace: 'release' },
  postgres: { label: 'Postgres', detail: 'direktiv-support', namespace: 'release' },
  'cert-manager': { label: 'cert-manager', detail: "issues the profile's certs", namespace: 'cert-manager' },
};

export const TOPOLOGY_NODES = Object.keys(TOPOLOGY) as TopologyNode[];

/** Namespaces in model order (see above): the Knative side before the release that it calls back. */
export const NAMESPACE_ROLES: readonly NamespaceRole[] = [
  'outside',
  'contour-external',
  'contour-internal',
  'knative',
  'service',
  'release',
  'cert-manager',
];

/** The namespace a role stands for in a scenario. */
export function namespaceOf(role: NamespaceRole, s: { namespace: string; serviceNamespace: string }): string {
  switch (role) {
    case 'outside':
      return 'outside the cluster';
    case 'release':
      return s.namespace;
    case 'service':
      return s.serviceNamespace;
    case 'knative':
      return KNATIVE_SERVING_NAMESPACE;
    default:
      return role;
  }
}
