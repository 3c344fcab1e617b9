// The expected state of every path under a feature set: the one table the planner, the verdicts,
// the lab and the reports all read. test/scenarios/spec-table.test.ts compares it with the spec.
import type { Feature } from './features.ts';
import { PATH_IDS, type PathId } from './paths.ts';

/**
 * plain: plaintext allowed and expected; tls: TLS required, plaintext refused;
 * mtls: TLS plus a valid client certificate required; https: TLS on 443, port 80 only redirects.
 */
export type ExpectedState = 'plain' | 'tls' | 'mtls' | 'https';
export const EXPECTED_STATES: readonly ExpectedState[] = ['plain', 'tls', 'mtls', 'https'];

export interface PathExpectation {
  state: ExpectedState;
  /**
   * The plain port stays open beside TLS by design of the pinned stack (erratum 7: Knative's
   * httpProtocol Enabled). Reported as a warning, never as a pass of "plaintext refused".
   */
  plainPortOpen?: boolean;
}

function grpcState(f: readonly Feature[]): ExpectedState {
  if (f.includes('grpc-mtls')) return 'mtls';
  return f.includes('grpc-tls') ? 'tls' : 'plain';
}

export function expectedFor(id: PathId, features: readonly Feature[], strict = false): PathExpectation {
  switch (id) {
    case 'client->ingress':
      return { state: features.includes('ingress') ? 'https' : 'plain' };
    case 'ingress->api':
    case 'ingress->ui':
      return { state: features.includes('upstream') ? 'tls' : 'plain' };
    case 'api->engine':
    case 'api->functions':
    case 'engine->functions':
    case 'sidecar->engine':
    case 'pod->engine':
      return { state: grpcState(features) };
    case 'engine->knative':
      if (!features.includes('services')) return { state: 'plain' };
      // net-contour 0.25 sets PermitInsecure=false for Redirected/Disabled: port 80 answers 301.
      return strict ? { state: 'https' } : { state: 'tls', plainPortOpen: true };
    case 'engine->pod':
      return { state: features.includes('services') ? 'tls' : 'plain' };
  }
}

export function expectedTable(features: readonly Feature[], strict = false): Record<PathId, PathExpectation> {
  return Object.fromEntries(PATH_IDS.map((id) => [id, expectedFor(id, features, strict)])) as Record<
    PathId,
    PathExpectation
  >;
}
