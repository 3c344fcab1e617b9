// The files a plan refers to (--output): kind config, Direktiv values, profile chart values and
// rendered manifests, the cert-manager API check, the Envoy NodePort patch, the traffic workflow.
// Rendering the profile chart needs helm, so it is injected; everything else is pure.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { localRegistry } from '../../../kind/built-images.ts';
import { envoyNodePorts, kindClusterYaml } from '../../../kind/cluster.ts';
import { GATEWAY } from './built-images.ts';

const builtMirror = `https://${GATEWAY}:${localRegistry.port}`;

import { direktivPin } from '../../../kind/versions.ts';
import { type DirektivImages, direktivValues, toValuesYaml } from '../../../scenarios/direktiv-values.ts';
import type { Scenario } from '../../../scenarios/index.ts';
import { profileChartValues } from '../chart/render.ts';
import { apiCheckCertificate } from '../k8s/gates.ts';
import type { PlanOptions } from './build.ts';
import { layout } from './layout.ts';
import { renderPlan } from './render.ts';
import type { Plan } from './types.ts';

/** The pinned Direktiv images as the values generator takes them. */
export function pinnedDirektivImages(): DirektivImages {
  const split = (ref: string) => {
    const noRegistry = ref.replace(/^docker\.io\//, '');
    const at = noRegistry.lastIndexOf(':');
    return { image: noRegistry.slice(0, at), tag: noRegistry.slice(at + 1) };
  };
  const i = direktivPin.images;
  return {
    flow: split(i.flow),
    secrets: split(i.secrets),
    api: split(i.api),
    ui: split(i.ui),
    functions: split(i.functions),
    sidecar: i.sidecar,
    initPod: i.initPod,
  };
}

export function envoyNodePortPatch(): unknown[] {
  return [
    { op: 'replace', path: '/spec/type', value: 'NodePort' },
    { op: 'replace', path: '/spec/ports/0/nodePort', value: envoyNodePorts.http },
    { op: 'replace', path: '/spec/ports/1/nodePort', value: envoyNodePorts.https },
  ];
}

export interface ArtifactInputs {
  plan: Plan;
  options: PlanOptions;
  /** `helm template` of charts/direktiv-tls-profile for the scenario. */
  renderProfile: (s: Scenario) => Promise<string>;
  /** The traffic workflow (Direktiv v0.4.1 YAML) for the scenario. */
  workflow?: (s: Scenario) => string;
}

/** Writes every file the plan names; returns their paths relative to `dir`. */
export async function writeArtifacts(dir: string, a: ArtifactInputs): Promise<string[]> {
  const files = new Map<string, string>();
  files.set(layout.planText, renderPlan(a.plan));
  files.set(layout.planJson, `${JSON.stringify(a.plan, null, 2)}\n`);
  files.set(
    layout.kindConfig,
    kindClusterYaml({
      httpPort: a.options.httpPort,
      httpsPort: a.options.httpsPort,
      // --images built: the node's containerd reads registry hosts from certs.d (the mirror).
      ...(a.options.images === 'built' ? { registryMirrors: { 'docker.io': [builtMirror] } } : {}),
    }),
  );
  files.set(layout.certManagerCheck, stringify(apiCheckCertificate('cert-manager')));
  files.set(layout.envoyNodePortPatch, `${JSON.stringify(envoyNodePortPatch(), null, 2)}\n`);
  for (const s of a.options.scenarios) {
    files.set(
      layout.direktivValues(s.name),
      toValuesYaml(direktivValues(s, { images: pinnedDirektivImages() }), s),
    );
    files.set(
      layout.profileValues(s.name),
      `# charts/direktiv-tls-profile values for ${s.name}\n${stringify(profileChartValues(s))}`,
    );
    files.set(layout.profileManifests(s.name), await a.renderProfile(s));
    if (a.workflow) files.set(layout.workflow(s.name), a.workflow(s));
  }
  for (const [rel, text] of files) {
    const p = join(dir, rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, text);
  }
  return [...files.keys()];
}
