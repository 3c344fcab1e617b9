// The images a rendered chart runs: every container and init container of every workload, so
// preflight pulls what the chart under test really uses (a chart change may add one that
// kind/images.yaml does not list).
import { parseAllDocuments } from 'yaml';
import { YAML_READ_LIMITS } from '../chart/yaml-limits.ts';

type Json = Record<string, unknown>;

function podSpecOf(obj: Json): Json | undefined {
  const spec = obj.spec as Json | undefined;
  if (!spec) return undefined;
  if (obj.kind === 'Pod') return spec;
  if (obj.kind === 'CronJob') {
    return (((spec.jobTemplate as Json | undefined)?.spec as Json | undefined)?.template as Json | undefined)
      ?.spec as Json | undefined;
  }
  return (spec.template as Json | undefined)?.spec as Json | undefined;
}

export function renderedImages(manifests: string): string[] {
  const out = new Set<string>();
  for (const doc of parseAllDocuments(manifests)) {
    const obj = doc.toJS(YAML_READ_LIMITS) as Json | null;
    if (!obj || typeof obj !== 'object') continue;
    const pod = podSpecOf(obj);
    for (const key of ['initContainers', 'containers'] as const) {
      for (const c of (pod?.[key] as Json[] | undefined) ?? []) {
        if (typeof c.image === 'string' && c.image) out.add(c.image);
      }
    }
  }
  return [...out].sort();
}
