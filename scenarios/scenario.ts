// A scenario: one profile (or custom feature set) in one mode, bound to namespaces and host.
// Everything downstream (plan, values, lab, verdicts, reports) is derived from this object.
import { type Erratum, errataFor, MODES, type Mode } from './errata.ts';
import { UsageError } from './errors.ts';
import { EXEMPTIONS, type Exemption } from './exemptions.ts';
import { expectedTable, type PathExpectation } from './expected.ts';
import { type Feature, normalizeFeatures, parseFeatures, validateFeatures } from './features.ts';
import type { PathId } from './paths.ts';
import { getProfile, PROFILES, type ProfileName } from './profiles.ts';

export const DEFAULTS = {
  namespace: 'default',
  serviceNamespace: 'direktiv-services-direktiv',
  ingressHost: 'direktiv.tls.test',
  mode: 'corrected' as Mode,
} as const;

export interface ScenarioOptions {
  profile?: string;
  features?: string;
  mode?: string;
  namespace?: string;
  serviceNamespace?: string;
  ingressHost?: string;
  strict?: boolean;
}

export interface Scenario {
  /** The profile name, or `custom:<features>` for a custom set: used as report column and JUnit prefix. */
  name: string;
  profile: ProfileName | null;
  features: Feature[];
  mode: Mode;
  namespace: string;
  serviceNamespace: string;
  ingressHost: string;
  strict: boolean;
  expected: Record<PathId, PathExpectation>;
  /** Errata that concern this feature set (corrected mode applies them; as-documented reports them). */
  errata: Erratum[];
  exemptions: readonly Exemption[];
}

// RFC 1123 label, as Kubernetes requires for namespace names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function checkNamespace(flag: string, value: string): string {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    throw new UsageError(
      `malformed namespace for ${flag}: '${value}'`,
      'a namespace is an RFC 1123 label: at most 63 characters, lower-case letters, digits and -, starting and ending with a letter or digit',
    );
  }
  return value;
}

export function checkHost(value: string): string {
  if (!DNS_NAME.test(value)) {
    throw new UsageError(
      `malformed ingress host '${value}'`,
      'give a lower-case DNS name such as direktiv.tls.test (it becomes the Ingress host and a certificate SAN)',
    );
  }
  return value;
}

export function parseMode(value: string): Mode {
  if (!(MODES as readonly string[]).includes(value)) {
    throw new UsageError(`unknown mode '${value}'`, `valid modes: ${MODES.join(', ')}`);
  }
  return value as Mode;
}

export function scenarioName(profile: ProfileName | null, features: readonly Feature[]): string {
  if (profile) return profile;
  return `custom:${features.length ? features.join('+') : 'none'}`;
}

export function buildScenario(opts: ScenarioOptions): Scenario {
  if (opts.profile !== undefined && opts.features !== undefined) {
    throw new UsageError(
      '--profile and --features conflict',
      'give a preset with --profile or a custom set with --features, not both',
    );
  }
  if (opts.profile === undefined && opts.features === undefined) {
    throw new UsageError(
      'missing value: --profile or --features',
      `e.g. --profile full-mtls (profiles: ${Object.keys(PROFILES).join(', ')})`,
    );
  }
  let profile: ProfileName | null = null;
  let features: Feature[];
  if (opts.profile !== undefined) {
    const p = getProfile(opts.profile);
    profile = p.name;
    features = normalizeFeatures(p.features);
  } else {
    features = parseFeatures(opts.features as string);
    // A custom set equal to a preset is that preset: reports and JUnit names stay stable.
    const same = Object.values(PROFILES).find((p) => p.features.join() === features.join());
    if (same) profile = same.name;
  }
  validateFeatures(features);
  const mode = parseMode(opts.mode ?? DEFAULTS.mode);
  const namespace = checkNamespace('--namespace', opts.namespace ?? DEFAULTS.namespace);
  const serviceNamespace = checkNamespace(
    '--service-namespace',
    opts.serviceNamespace ?? DEFAULTS.serviceNamespace,
  );
  if (serviceNamespace === namespace) {
    throw new UsageError(
      `the service namespace equals the release namespace ('${namespace}')`,
      'Direktiv v0.4.1 runs Knative services and pod jobs in their own namespace; choose another --service-namespace',
    );
  }
  const ingressHost = checkHost(opts.ingressHost ?? DEFAULTS.ingressHost);
  const strict = opts.strict ?? false;
  if (strict && !features.includes('services')) {
    throw new UsageError(
      '--strict needs the services feature',
      '--strict turns off plain HTTP on the internal Envoy, which only matters with --profile full-mtls or --features ...,services',
    );
  }
  return {
    name: scenarioName(profile, features),
    profile,
    features,
    mode,
    namespace,
    serviceNamespace,
    ingressHost,
    strict,
    expected: expectedTable(features, strict),
    errata: errataFor(features),
    exemptions: EXEMPTIONS,
  };
}
