// Where a cluster run probes each path: the Service (or host port) behind it, the name the real
// client dials, and the Secrets that hold what the real client trusts and presents. Pure data
// derived from the scenario; the probe step turns it into port-forwards and ProbeTargets.
import { CERT_NAMES } from '../../../scenarios/direktiv-values.ts';
import { dialName, PATHS, type PathId, type Scenario } from '../../../scenarios/index.ts';
import { CONTOUR_INTERNAL_NAMESPACE } from '../../../scenarios/knative-settings.ts';
import type { ProbeProtocol } from '../probe/types.ts';
import { INIT_POD_PROBE_PATH } from './init-pod-probe.ts';

export interface SecretName {
  namespace: string;
  name: string;
}

export type ClusterTarget =
  | {
      kind: 'host';
      protocol: ProbeProtocol;
      /** The kind port mappings on 127.0.0.1. */
      port: number;
      plainPort: number;
      serverName: string;
      httpPath: string;
      ca?: SecretName;
    }
  | {
      kind: 'service';
      protocol: ProbeProtocol;
      namespace: string;
      service: string;
      port: number;
      plainPort?: number;
      serverName: string;
      httpPath?: string;
      /** The Secret whose ca.crt the real client trusts (public part only is read). */
      ca?: SecretName;
      /** The Secret the real client presents under mTLS (read into memory, never written). */
      clientCert?: SecretName;
    }
  | {
      kind: 'init-pod';
      protocol: ProbeProtocol;
      namespace: string;
      port: number;
      httpPath: string;
      ca?: SecretName;
    }
  | { kind: 'none'; why: string };

export function clusterTarget(
  id: PathId,
  s: Scenario,
  o: { httpPort: number; httpsPort: number; knativeService?: string },
): ClusterTarget {
  const N = s.namespace;
  const S = s.serviceNamespace;
  // Every component certificate chains to the profile's CA; direktiv-ca's ca.crt is that anchor.
  const profileCa: SecretName = { namespace: 'cert-manager', name: 'direktiv-ca' };
  const svc = (service: string, extra: Partial<Extract<ClusterTarget, { kind: 'service' }>> = {}) =>
    ({
      kind: 'service',
      protocol: PATHS[id].protocol === 'grpc' ? 'grpc' : 'http',
      namespace: N,
      service,
      port: PATHS[id].port,
      serverName: dialName(id, N, S, { ingressHost: s.ingressHost }),
      ca: profileCa,
      ...extra,
    }) as ClusterTarget;
  switch (id) {
    case 'client->ingress':
      return {
        kind: 'host',
        protocol: 'http',
        port: o.httpsPort,
        plainPort: o.httpPort,
        serverName: s.ingressHost,
        httpPath: '/api/namespaces/',
        // The page issues direktiv-lb from the self-signed issuer: its own ca.crt is the anchor.
        ca: { namespace: N, name: CERT_NAMES.ingress },
      };
    case 'ingress->api':
      return svc('direktiv-api-service', { httpPath: '/api/healthz' });
    case 'ingress->ui':
      return svc('direktiv-ui', { httpPath: '/manifest.json' });
    case 'api->engine':
      return svc('direktiv-ingress-hl', { clientCert: { namespace: N, name: CERT_NAMES.engineIngress } });
    case 'api->functions':
    case 'engine->functions':
      return svc('direktiv-functions-hl', { clientCert: { namespace: N, name: CERT_NAMES.functions } });
    case 'sidecar->engine':
    case 'pod->engine':
      // Sidecars and pod jobs mount the flow certificate's copy in the service namespace.
      return svc('direktiv-flow-hl', { clientCert: { namespace: S, name: CERT_NAMES.flow } });
    case 'engine->knative':
      return {
        kind: 'service',
        protocol: 'http',
        namespace: CONTOUR_INTERNAL_NAMESPACE,
        service: 'envoy',
        port: 443,
        plainPort: 80,
        serverName: dialName(id, N, S, { ingressHost: s.ingressHost, knativeService: o.knativeService }),
        httpPath: '/',
        ca: profileCa,
      };
    case 'engine->pod':
      // A replica of the init container (init-pod-probe.ts): its server lives only for one call.
      return {
        kind: 'init-pod',
        protocol: 'http',
        namespace: S,
        port: 8890,
        httpPath: INIT_POD_PROBE_PATH,
        ca: profileCa,
      };
  }
}
