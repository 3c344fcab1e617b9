// Renders the project's profile chart (charts/direktiv-tls-profile) for a scenario.
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Scenario } from '../../../scenarios/scenario.ts';
import { helmLint, helmTemplate, type LintResult } from './helm.ts';
import { YAML_READ_LIMITS } from './yaml-limits.ts';

export const PROFILE_CHART_DIR = fileURLToPath(
  new URL('../../../charts/direktiv-tls-profile', import.meta.url),
);
export const PROFILE_RELEASE = 'direktiv-tls-profile';
export const CERT_MANAGER_NAMESPACE = 'cert-manager';

/** A rendered Kubernetes object (the fields the harness reads; the rest stays as rendered). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: object bodies differ per kind.
  spec?: any;
  [key: string]: unknown;
}

export interface ProfileValues {
  profile?: string;
  features?: string[];
  mode: string;
  namespace: string;
  serviceNamespace: string;
  ingressHost: string;
  certManagerNamespace: string;
}

/**
 * The chart values for a scenario: a preset by name when the scenario is one, else its features.
 * `overrides` replace single values (tests use it to render a deliberately wrong chart).
 */
export function profileChartValues(
  scenario: Scenario,
  overrides: Partial<ProfileValues> & { usePreset?: boolean } = {},
): ProfileValues {
  const { usePreset = true, ...rest } = overrides;
  const base: ProfileValues = {
    mode: scenario.mode,
    namespace: scenario.namespace,
    serviceNamespace: scenario.serviceNamespace,
    ingressHost: scenario.ingressHost,
    certManagerNamespace: CERT_MANAGER_NAMESPACE,
  };
  if (scenario.profile && usePreset) base.profile = scenario.profile;
  else base.features = [...scenario.features];
  return { ...base, ...rest };
}

/** Parses a `helm template` stream into objects (empty documents dropped). */
export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const obj = doc.toJS(YAML_READ_LIMITS) as K8sObject | null;
    if (obj === null || obj === undefined) continue;
    if (typeof obj !== 'object' || !obj.apiVersion || !obj.kind || !obj.metadata?.name) {
      throw new Error(`rendered document is not a Kubernetes object: ${JSON.stringify(obj).slice(0, 200)}`);
    }
    out.push(obj);
  }
  return out;
}

/** Renders the scenario's profile objects with `helm template` (release namespace = N). */
export async function renderProfile(
  scenario: Scenario,
  helmPath: string,
  overrides?: Partial<ProfileValues> & { usePreset?: boolean },
): Promise<K8sObject[]> {
  const values = profileChartValues(scenario, overrides);
  const text = await helmTemplate({
    helm: helmPath,
    chartDir: PROFILE_CHART_DIR,
    releaseName: PROFILE_RELEASE,
    namespace: scenario.namespace,
    values,
  });
  return parseManifests(text);
}

/** The rendered stream as text, for `--output <dir>` (a person can `kubectl apply -f` it). */
export function renderProfileText(scenario: Scenario, helmPath: string): Promise<string> {
  return helmTemplate({
    helm: helmPath,
    chartDir: PROFILE_CHART_DIR,
    releaseName: PROFILE_RELEASE,
    namespace: scenario.namespace,
    values: profileChartValues(scenario),
  });
}

export function lintProfile(scenario: Scenario, helmPath: string): Promise<LintResult> {
  return helmLint({
    helm: helmPath,
    chartDir: PROFILE_CHART_DIR,
    namespace: scenario.namespace,
    values: profileChartValues(scenario),
  });
}

/** `Kind namespace/name`, the way findings and reports name an object. */
export function objectRef(o: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}
