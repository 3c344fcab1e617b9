// Shared renders for the chart tests: each distinct chart input is rendered once per process
// (the uvu runner loads every test file into one process), so all files share one helm call.

import {
  buildScenario,
  type Mode,
  type ProfileName,
  type Scenario,
  type ScenarioOptions,
} from '../../../scenarios/index.ts';
import {
  type K8sObject,
  type ProfileValues,
  profileChartValues,
  renderProfile,
} from '../../../scripts/lib/chart/index.ts';
import { testHelm } from '../../../scripts/lib/tools/test-helm.ts';

const cache = new Map<string, Promise<K8sObject[]>>();

type Overrides = Partial<ProfileValues> & { usePreset?: boolean };

/** The profile chart's objects for a scenario (optionally with chart-value overrides). */
export function rendered(scenario: Scenario, overrides?: Overrides): Promise<K8sObject[]> {
  const key = JSON.stringify(profileChartValues(scenario, overrides));
  let p = cache.get(key);
  if (!p) {
    p = testHelm().then((helm) => renderProfile(scenario, helm, overrides));
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

export function scenario(
  profile: ProfileName,
  mode: Mode,
  extra: Omit<ScenarioOptions, 'profile' | 'mode'> = {},
) {
  return buildScenario({ profile, mode, ...extra });
}

/** A deep copy, for tests that plant a bug in a rendering. */
export const copy = (objects: readonly K8sObject[]): K8sObject[] => structuredClone([...objects]);

export function cert(objects: readonly K8sObject[], namespace: string, name: string): K8sObject {
  const o = objects.find(
    (x) => x.kind === 'Certificate' && x.metadata.namespace === namespace && x.metadata.name === name,
  );
  if (!o) throw new Error(`no Certificate ${namespace}/${name} in the rendering`);
  return o;
}
