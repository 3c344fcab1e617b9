// The Knative settings of a scenario: changes to ConfigMaps that belong to Direktiv's Knative
// chart (release `knative`), so they are patch documents the harness applies after that chart,
// never objects of the profile chart (helm would fight the Knative release over them).
import type { Scenario } from './scenario.ts';

/** Direktiv's knative chart v0.4.1 puts Knative Serving into `knative-serving-<release>`. */
export const KNATIVE_SERVING_NAMESPACE = 'knative-serving-knative';
/** Namespace of the internal Contour (net-contour's contour.yaml, vendored by the knative chart). */
export const CONTOUR_INTERNAL_NAMESPACE = 'contour-internal';
/** The Secret the internal Envoy serves for every Knative service host (the page's name). */
export const KNATIVE_TLS_SECRET = 'direktiv-cert-knative';

/** config-network's httpProtocol (knative.dev/networking): the chart's default is Enabled. */
export type HttpProtocol = 'Enabled' | 'Redirected' | 'Disabled';

export interface ConfigMapPatch {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace: string };
  /** Only the keys to set: a JSON merge patch of `data`. */
  data: Record<string, string>;
}

export interface KnativeSetting {
  patch: ConfigMapPatch;
  /** Errata of ../errata.ts the setting fixes (empty: the page itself asks for it). */
  errata: number[];
  why: string;
  source: string;
}

/** What the Knative side looks like once the settings are applied. */
export interface KnativeState {
  /** config-contour default-tls-secret, `<namespace>/<name>`; undefined when unset. */
  defaultTlsSecret?: string;
  httpProtocol: HttpProtocol;
}

/** The values of Direktiv's knative chart v0.4.1 (templates/config-network.yaml, net-contour.yaml). */
export const KNATIVE_CHART_DEFAULTS: KnativeState = { httpProtocol: 'Enabled' };

function cm(name: string, data: Record<string, string>): ConfigMapPatch {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: KNATIVE_SERVING_NAMESPACE },
    data,
  };
}

/**
 * The patches, in apply order. Both modes take the page's config-contour patch; `--strict`
 * (erratum 7's fix, offered in both modes) also turns plain HTTP off on Knative hosts.
 */
export function knativeSettings(scenario: Scenario): KnativeSetting[] {
  if (!scenario.features.includes('services')) return [];
  const out: KnativeSetting[] = [
    {
      patch: cm('config-contour', {
        'default-tls-secret': `${CONTOUR_INTERNAL_NAMESPACE}/${KNATIVE_TLS_SECRET}`,
      }),
      errata: [],
      why: 'the internal Envoy serves this certificate on every Knative host that has no TLS of its own',
      source:
        'docs/config/ssl.md "Direktiv - Knative" @ 493de14; net-contour v0.25.0 pkg/reconciler/contour/resources/httpproxy.go',
    },
  ];
  if (scenario.strict) {
    out.push({
      // net-contour 0.25 sets PermitInsecure=false for Redirected and Disabled alike; Redirected
      // keeps port 80 answering (with 301), so a probe can tell "refused" from "not listening".
      patch: cm('config-network', { httpProtocol: 'Redirected' }),
      errata: [7],
      why: 'with httpProtocol Enabled plain HTTP keeps working beside HTTPS on the internal Envoy',
      source: 'net-contour v0.25.0 pkg/reconciler/contour/resources/httpproxy.go (allowInsecure)',
    });
  }
  return out;
}

/** The Knative state after applying `settings` over the knative chart's defaults. */
export function knativeState(settings: readonly KnativeSetting[]): KnativeState {
  const state: KnativeState = { ...KNATIVE_CHART_DEFAULTS };
  for (const { patch } of settings) {
    if (patch.metadata.name === 'config-contour' && patch.data['default-tls-secret'] !== undefined) {
      state.defaultTlsSecret = patch.data['default-tls-secret'];
    }
    if (patch.metadata.name === 'config-network' && patch.data.httpProtocol !== undefined) {
      state.httpProtocol = patch.data.httpProtocol as HttpProtocol;
    }
  }
  return state;
}

/** The kubectl arguments that apply one patch (a JSON merge patch leaves the other keys alone). */
export function kubectlPatchArgs(patch: ConfigMapPatch): string[] {
  return [
    'patch',
    'configmap',
    patch.metadata.name,
    '--namespace',
    patch.metadata.namespace,
    '--type',
    'merge',
    '--patch',
    JSON.stringify({ data: patch.data }),
  ];
}
