// The lab's certificate specs per scenario: the profile chart (charts/direktiv-tls-profile)
// rendered with `helm template` and read by scripts/lib/chart/cert-specs.ts. The chart is the one
// source of certificates: a cluster run installs it, the lab issues locally exactly what it
// renders (names, namespaces, SANs, usages, issuers), so the lab cannot drift from the cluster.
//
// `helm template` costs 50-100 ms, so each distinct chart input is rendered once per process and
// the promise shared (the lab matrix and the mutation set reuse six renderings). The helm binary is
// injectable: tests pass testHelm(), the commands default to helmForRendering() (pinned official
// helm, else the same version from npm on linux/amd64), resolved once.
import type { CertSpec, IssuerSpec, Scenario } from '../../../scenarios/index.ts';
import { readCertSpecs } from '../chart/cert-specs.ts';
import { profileChartValues, renderProfile } from '../chart/render.ts';
import { helmForRendering } from '../run/helm-path.ts';

export interface LabCertSpecs {
  issuers: IssuerSpec[];
  certs: CertSpec[];
}

/** A helm binary's path, or a function resolving one (e.g. testHelm). */
export type HelmSource = string | (() => Promise<string>);

export interface CertSourceOptions {
  /** Default: helmForRendering(). */
  helm?: HelmSource;
}

let defaultHelm: Promise<string> | undefined;

/** The helm the lab renders with; a failed lookup is not memoized (the next call retries). */
export function labHelm(source?: HelmSource): Promise<string> {
  if (typeof source === 'string') return Promise.resolve(source);
  if (source) return source();
  defaultHelm ??= helmForRendering().catch((e: unknown) => {
    defaultHelm = undefined;
    throw e;
  });
  return defaultHelm;
}

const cache = new Map<string, Promise<LabCertSpecs>>();
let renders = 0;

/** How many times `helm template` ran for the lab in this process (tests check the cache). */
export function labChartRenders(): number {
  return renders;
}

/**
 * The scenario's issuers and certificates as the profile chart renders them. Cached per helm
 * binary and chart values; every caller gets its own copy (nothing can alter the cached one).
 */
export async function labCertSpecs(scenario: Scenario, opts: CertSourceOptions = {}): Promise<LabCertSpecs> {
  const helm = await labHelm(opts.helm);
  const key = `${helm}\0${JSON.stringify(profileChartValues(scenario))}`;
  let p = cache.get(key);
  if (!p) {
    renders++;
    p = renderProfile(scenario, helm).then(readCertSpecs);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return structuredClone(await p);
}
