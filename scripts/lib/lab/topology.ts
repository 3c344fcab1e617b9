// How the lab arranges a scenario: for every path, the server (listener configuration, as
// Direktiv v0.4.1 or Contour configures it under the scenario's values) and the real client
// (configured like the Direktiv component that dials the path). It reads the chart model of
// scenarios/ (direktivValues -> direktivMounts / pathTls, knativeSettings), so the lab and the
// configuration checks share one account of what each component mounts.
//
// Components: a pod whose mounted Secret does not exist never starts (ContainerCreating); its
// servers do not listen and its clients make no call. The Envoys read their Secret through the
// API: a missing one only means no TLS on that host.
import {
  direktivMounts,
  type MountComponent,
  pathTls,
  type SecretMount,
} from '../../../scenarios/direktiv-chart-model.ts';
import { direktivValues } from '../../../scenarios/direktiv-values.ts';
import { dialName, PATH_IDS, PATHS, type PathId, type Scenario } from '../../../scenarios/index.ts';
import { knativeSettings, knativeState } from '../../../scenarios/knative-settings.ts';
import type { ProbeCredentials, ProbeProtocol } from '../probe/types.ts';
import type { LabPki, SecretData } from './pki.ts';
import type { ListenerConfig, PlainReply, TlsServerConfig } from './servers.ts';

export interface SecretRef {
  namespace: string;
  name: string;
}

export type HttpRole =
  | { kind: 'envoy'; hosts: string[]; redirect: boolean; answer: string }
  | { kind: 'go'; component: string };

export interface ListenerPlan {
  /** null: nothing listens (the component never started, or Envoy has no TLS for the host). */
  config: ListenerConfig | null;
  http?: HttpRole;
}

export type RealClientPlan =
  | {
      kind: 'grpc';
      client: string;
      mode: 'plain' | 'tls' | 'mtls';
      secret?: SecretData;
      /** Why the client never runs (its pod cannot start). */
      down?: string;
    }
  | {
      kind: 'http';
      client: string;
      scheme: 'http' | 'https';
      /** Contour 1.14 does not verify upstream certificates; Go clients and users do. */
      verify: boolean;
      ca?: string;
      alpn: string[];
      minVersion?: 'TLSv1.2';
      method: 'GET' | 'POST';
      path: string;
      headers: Record<string, string>;
      body?: string;
      down?: string;
    };

export interface PathPlan {
  path: PathId;
  protocol: ProbeProtocol;
  dialName: string;
  /** The component serving the path (one listener per path: see lab.ts). */
  server: string;
  serverDown?: string;
  /** The Secret the server is meant to serve (the mutations replace its certificate). */
  serverSecret?: SecretRef;
  main: ListenerPlan;
  plain?: ListenerPlan;
  client: RealClientPlan;
  /** What the harness's probe presents and trusts. */
  creds: ProbeCredentials;
  /** ALPN the real client offers. */
  alpn: string[];
}

const POD_COMPONENTS: ReadonlySet<MountComponent> = new Set([
  'engine',
  'api',
  'ui',
  'functions',
  'sidecar',
  'init-pod',
]);

/** The Knative service and pod the engine calls in the lab (dialName's defaults). */
export const LAB_KNATIVE_SERVICE = 'workflow-probe';

function keyPair(s: SecretData | undefined) {
  return s ? { cert: s['tls.crt'], key: s['tls.key'] } : undefined;
}

export interface Topology {
  plans: Record<PathId, PathPlan>;
  /** Why components did not start, for the report. */
  notes: string[];
}

export async function labTopology(scenario: Scenario, pki: LabPki): Promise<Topology> {
  const N = scenario.namespace;
  const S = scenario.serviceNamespace;
  const values = direktivValues(scenario);
  const knative = knativeState(knativeSettings(scenario));
  const mounts = direktivMounts(values, { namespace: N, knative });
  const model = pathTls(values, { namespace: N, knative });
  const secret = (m: Pick<SecretMount, 'namespace' | 'secretName'> | undefined) =>
    m ? pki.secret(m.namespace, m.secretName) : undefined;

  // A pod component is down when one of its mounts has no Secret.
  const down = new Map<string, string>();
  for (const m of mounts) {
    if (!POD_COMPONENTS.has(m.component) || down.has(m.component)) continue;
    if (!secret(m)) {
      down.set(
        m.component,
        `${m.workload} cannot start: Secret ${m.namespace}/${m.secretName} (volume ${m.volume ?? '-'}, ${m.value}) does not exist`,
      );
    }
  }
  const notes = [...down.values()];
  const mountOf = (path: PathId, role: SecretMount['role']) =>
    mounts.find((m) => m.path === path && m.role === role);
  // The profile CA as the harness knows it (cert-manager's direktiv-ca Secret), for paths whose
  // own Secrets are missing.
  const profileCa = pki.profileCa ? secret(pki.profileCa)?.['ca.crt'] : undefined;
  const foreign = await pki.leaf(
    'foreign-client',
    {
      dnsNames: ['foreign-client.invalid'],
      usages: ['server auth', 'client auth'],
      commonName: 'foreign-client',
    },
    'foreign',
  );

  const plans = {} as Record<PathId, PathPlan>;
  for (const id of PATH_IDS) {
    const info = PATHS[id];
    const dial = dialName(id, N, S, { ingressHost: scenario.ingressHost });
    const tlsModel = model[id];
    const serverMount = mountOf(id, 'server');
    const serverSecret = secret(serverMount);
    const clientMount = mountOf(id, 'client') ?? mountOf(id, 'ca');
    const clientSecret = secret(clientMount);
    const serverComponent = serverMount?.component ?? info.server;
    const serverDown = down.get(info.server);
    const clientDown = down.get(
      info.client === 'envoy-external' || info.client === 'user' ? '' : info.client,
    );
    const protocol: ProbeProtocol = info.protocol === 'grpc' ? 'grpc' : 'http';
    const alpn =
      protocol === 'grpc' ? ['h2'] : info.client === 'envoy-external' ? ['http/1.1'] : ['h2', 'http/1.1'];
    const tlsConfig = (
      clientAuth: TlsServerConfig['clientAuth'],
      sniHosts?: string[],
    ): TlsServerConfig | undefined =>
      serverSecret
        ? {
            cert: serverSecret['tls.crt'],
            key: serverSecret['tls.key'],
            clientCa: serverSecret['ca.crt'],
            clientAuth,
            alpn: protocol === 'grpc' ? ['h2'] : ['h2', 'http/1.1'],
            ...(sniHosts ? { sniHosts } : {}),
          }
        : undefined;
    const listener = (
      tlsOn: boolean,
      tls: TlsServerConfig | undefined,
      plainReply: PlainReply,
    ): ListenerConfig => {
      const l: ListenerConfig = { plainReply };
      if (tlsOn && tls) l.tls = tls;
      return l;
    };

    const plan: PathPlan = {
      path: id,
      protocol,
      dialName: dial,
      server: serverComponent,
      main: { config: null },
      client: { kind: 'grpc', client: info.client, mode: 'plain' },
      creds: {},
      alpn,
    };
    if (serverMount) plan.serverSecret = { namespace: serverMount.namespace, name: serverMount.secretName };
    if (serverDown) plan.serverDown = serverDown;

    // The harness trusts the CA behind the real client's Secret, else the server's, else the profile CA.
    const trust = clientSecret?.['ca.crt'] ?? serverSecret?.['ca.crt'] ?? profileCa;
    if (trust) plan.creds.ca = trust;
    plan.creds.foreignClientCert = keyPair(foreign);

    if (protocol === 'grpc') {
      const mode = tlsModel.mtls ? 'mtls' : tlsModel.serverTls ? 'tls' : 'plain';
      plan.main = {
        config: serverDown
          ? null
          : listener(mode !== 'plain', tlsConfig(mode === 'mtls' ? 'require-verify' : 'none'), 'close'),
      };
      plan.client = {
        kind: 'grpc',
        client: info.client,
        mode: tlsModel.clientTls ? (tlsModel.mtls ? 'mtls' : 'tls') : 'plain',
      };
      if (clientSecret) plan.client.secret = clientSecret;
      if (clientDown) plan.client.down = clientDown;
      // mTLS probes present the real client's certificate (the server's own when the client's is missing).
      const cc = keyPair(clientSecret) ?? keyPair(serverSecret);
      if (cc) plan.creds.clientCert = cc;
    } else if (id === 'client->ingress') {
      const hosts = [scenario.ingressHost];
      const tls = tlsModel.serverTls && serverSecret;
      plan.main = {
        config: tls ? listener(true, tlsConfig('none', hosts), 'close') : null,
        http: { kind: 'envoy', hosts, redirect: false, answer: 'direktiv-ui' },
      };
      // Contour's force-ssl-redirect (ingress.yaml) when the Ingress has TLS.
      plan.plain = {
        config: { plainReply: 'close' },
        http: { kind: 'envoy', hosts, redirect: Boolean(tls), answer: 'direktiv-ui' },
      };
      plan.client = {
        kind: 'http',
        client: 'user (curl --cacert <direktiv-lb ca.crt>)',
        scheme: tls ? 'https' : 'http',
        verify: true,
        ...(serverSecret ? { ca: serverSecret['ca.crt'] } : {}),
        alpn,
        method: 'GET',
        path: '/',
        headers: {},
      };
    } else if (id === 'engine->knative') {
      const hosts = [dial, `${dial}.svc`, `${dial}.svc.cluster.local`];
      const tls = tlsModel.serverTls && serverSecret;
      plan.main = {
        config: tls ? listener(true, tlsConfig('none', hosts), 'close') : null,
        http: { kind: 'envoy', hosts, redirect: false, answer: `${LAB_KNATIVE_SERVICE} (sidecar 8890)` },
      };
      // httpProtocol Enabled keeps port 80 serving; Redirected (--strict) answers 301.
      plan.plain = {
        config: { plainReply: 'close' },
        http: {
          kind: 'envoy',
          hosts,
          redirect: Boolean(tls) && knative.httpProtocol !== 'Enabled',
          answer: `${LAB_KNATIVE_SERVICE} (sidecar 8890)`,
        },
      };
      plan.client = engineHttpClient(tlsModel.clientTls, clientSecret, clientMount, down.get('engine'), alpn);
    } else {
      // ingress->api, ingress->ui, engine->pod: Go net/http servers.
      const component = id === 'engine->pod' ? 'init-pod' : id === 'ingress->api' ? 'api' : 'ui';
      plan.main = {
        config: serverDown ? null : listener(tlsModel.serverTls, tlsConfig('none'), 'go-400'),
        http: { kind: 'go', component },
      };
      if (id === 'engine->pod') {
        plan.client = engineHttpClient(
          tlsModel.clientTls,
          clientSecret,
          clientMount,
          down.get('engine'),
          alpn,
        );
      } else {
        // Contour dials TLS upstream when the Service has the upstream-protocol.tls annotation,
        // and does not verify the certificate (Contour 1.14 without upstream validation).
        plan.client = {
          kind: 'http',
          client: 'contour-external Envoy (upstream)',
          scheme: tlsModel.clientTls ? 'https' : 'http',
          verify: false,
          alpn,
          method: 'GET',
          path: id === 'ingress->api' ? '/api/healthz' : '/manifest.json',
          headers: {},
        };
      }
    }
    plans[id] = plan;
  }
  return { plans, notes };
}

/** The engine's HTTP client (engine.go createTransport): system roots + functionsCA, TLS 1.2+, h2 tried. */
function engineHttpClient(
  https: boolean,
  caSecret: SecretData | undefined,
  caMount: SecretMount | undefined,
  engineDown: string | undefined,
  alpn: string[],
): RealClientPlan {
  const plan: RealClientPlan = {
    kind: 'http',
    client: 'engine',
    scheme: https ? 'https' : 'http',
    verify: true,
    alpn,
    minVersion: 'TLSv1.2',
    method: 'POST',
    path: '/',
    // doKnativeHTTPRequest / doPodHTTPRequest headers the sidecar and init-pod check.
    headers: {
      'Direktiv-ActionID': 'lab-action',
      'Direktiv-InstanceID': 'lab/instance',
      'Direktiv-Namespace': 'lab',
      'Direktiv-Step': '0',
      'Direktiv-Deadline': new Date(Date.now() + 60_000).toISOString(),
      'Content-Type': 'application/json',
    },
    body: '{"probe":true}',
  };
  if (caSecret) plan.ca = caSecret['ca.crt'];
  else if (https && caMount)
    plan.down = `engine has no CA: Secret ${caMount.namespace}/${caMount.secretName} does not exist`;
  if (engineDown) plan.down = engineDown;
  return plan;
}
