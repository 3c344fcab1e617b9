// The Knative ConfigMap patches that put the cluster into a scenario's state from ANY previous
// state (profiles switch in place): keys a scenario does not set are reset to the chart defaults.

import type { Scenario } from '../../../scenarios/index.ts';
import {
  KNATIVE_CHART_DEFAULTS,
  KNATIVE_SERVING_NAMESPACE,
  knativeSettings,
  knativeState,
} from '../../../scenarios/knative-settings.ts';

export interface MergePatch {
  namespace: string;
  configMap: string;
  /** JSON merge patch of `data`: null removes a key. */
  data: Record<string, string | null>;
}

export function knativePatches(s: Scenario): MergePatch[] {
  const state = knativeState(knativeSettings(s));
  return [
    {
      namespace: KNATIVE_SERVING_NAMESPACE,
      configMap: 'config-contour',
      data: { 'default-tls-secret': state.defaultTlsSecret ?? null },
    },
    {
      namespace: KNATIVE_SERVING_NAMESPACE,
      configMap: 'config-network',
      data: { httpProtocol: state.httpProtocol ?? KNATIVE_CHART_DEFAULTS.httpProtocol },
    },
  ];
}

export function patchCommand(p: MergePatch, kubectl: (args: string) => string): string {
  return kubectl(
    `-n ${p.namespace} patch configmap ${p.configMap} --type merge -p '${JSON.stringify({ data: p.data })}'`,
  );
}
