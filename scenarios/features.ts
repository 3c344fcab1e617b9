// Composable TLS features: each one is one documented section of Direktiv's TLS page.
// Profiles (profiles.ts) are presets over these; custom sets follow the rules below.
import { UsageError } from './errors.ts';

export const FEATURES = ['ingress', 'upstream', 'grpc-tls', 'grpc-mtls', 'services'] as const;
export type Feature = (typeof FEATURES)[number];

export const FEATURE_DOCS: Record<Feature, string> = {
  ingress: 'Proxy: TLS on the contour-external Envoy (ingress.certificate, ingress.host)',
  upstream: 'Proxy - API/UI: HTTPS from Envoy to the API and UI (api.certificate, ui.certificate)',
  'grpc-tls':
    'API - Engine - Controller: TLS on engine 6666 and 7777 and functions 5555 (flow.certificates.*, functions.certificate)',
  'grpc-mtls': 'the mTLS variant: client certificates required on 6666, 7777, 5555 (needs grpc-tls)',
  services:
    'Direktiv - Knative and Direktiv - Pods: HTTPS from the engine to Knative and pod services (both or neither)',
};

export function isFeature(s: string): s is Feature {
  return (FEATURES as readonly string[]).includes(s);
}

/** Canonical order, so equal sets compare equal and render the same. */
export function normalizeFeatures(list: readonly Feature[]): Feature[] {
  return FEATURES.filter((f) => list.includes(f));
}

/**
 * Parses and validates a comma list such as "grpc-tls,services". Rules:
 * - grpc-mtls reuses the TLS mounts (grpc-util.go), so it needs grpc-tls;
 * - Knative and pod services are one feature (the page: both backends use TLS or neither);
 * - TLS on only one of the engine ports 6666/7777 cannot be expressed: grpc-tls covers both,
 *   because the engine may give one server the other's credentials (a known hazard).
 */
export function parseFeatures(input: string): Feature[] {
  const raw = input
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (raw.length === 0)
    throw new UsageError('--features is empty', `give a comma list of: ${FEATURES.join(', ')}`);
  const unknown = raw.filter((s) => !isFeature(s));
  if (unknown.length) {
    const hints: Record<string, string> = {
      knative: "'knative' and 'pods' are one feature: use 'services'",
      pods: "'knative' and 'pods' are one feature: use 'services'",
      pod: "'knative' and 'pods' are one feature: use 'services'",
      'grpc-tls-flow':
        "TLS on only one engine port (7777) is refused: the engine may start both servers with the same credentials; use 'grpc-tls'",
      'grpc-tls-ingress':
        "TLS on only one engine port (6666) is refused: the engine may start both servers with the same credentials; use 'grpc-tls'",
      flow: "TLS on only one engine port (7777) is refused; use 'grpc-tls' for both",
      mtls: "use 'grpc-tls,grpc-mtls'",
    };
    const hint = unknown.map((u) => hints[u]).find(Boolean);
    throw new UsageError(
      `unknown feature${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`,
      hint ?? `valid features: ${FEATURES.join(', ')}`,
    );
  }
  const dup = raw.filter((s, i) => raw.indexOf(s) !== i);
  if (dup.length) throw new UsageError(`feature listed twice: ${dup.join(', ')}`, 'list each feature once');
  const features = normalizeFeatures(raw as Feature[]);
  validateFeatures(features);
  return features;
}

export function validateFeatures(features: readonly Feature[]): void {
  if (features.includes('grpc-mtls') && !features.includes('grpc-tls')) {
    throw new UsageError(
      'conflicting features: grpc-mtls needs grpc-tls',
      'mTLS reuses the TLS certificate mounts (pkg/util/grpc-util.go); use --features grpc-tls,grpc-mtls',
    );
  }
}
