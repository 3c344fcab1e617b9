// Connections that are plaintext in every profile: Direktiv v0.4.x has no setting for them.
// Reports list and count them; they are never silently dropped.
import type { TopologyNode } from './topology.ts';

export interface Exemption {
  id: string;
  client: string;
  server: string;
  port: number | null;
  reason: string;
  /** The connections it stands for, client to server, as the topology diagram draws them. */
  hops: Array<{ from: TopologyNode; to: TopologyNode; port: number }>;
}

export const EXEMPTIONS: readonly Exemption[] = [
  {
    id: 'engine->postgres',
    client: 'engine, secrets server, Knative service sidecars',
    server: 'direktiv-support (Postgres)',
    port: 5432,
    reason: 'the chart DSNs use sslmode=disable for the bundled support database',
    hops: [
      { from: 'engine', to: 'postgres', port: 5432 },
      { from: 'secrets', to: 'postgres', port: 5432 },
      { from: 'sidecar', to: 'postgres', port: 5432 },
    ],
  },
  {
    id: 'fluentbit->postgres',
    client: 'fluent-bit sidecars (engine, API, functions pods)',
    server: 'direktiv-support (Postgres)',
    port: 5432,
    reason: 'fluentbit writes logs to the same plaintext support database',
    hops: [{ from: 'fluent-bit', to: 'postgres', port: 5432 }],
  },
  {
    id: 'envoy-internal->knative',
    client: 'contour-internal Envoy',
    server: 'Knative activator / queue-proxy / Direktiv sidecar',
    port: 8012,
    reason: 'Knative Serving 0.25 has no internal encryption: TLS ends at the internal Envoy',
    hops: [
      { from: 'envoy-internal', to: 'activator', port: 8012 },
      { from: 'activator', to: 'queue-proxy', port: 8012 },
      { from: 'queue-proxy', to: 'sidecar', port: 8890 },
    ],
  },
  {
    id: 'engine->secrets',
    client: 'engine',
    server: 'secrets server in the engine pod',
    port: 2610,
    reason: 'listens on 127.0.0.1 inside the engine pod and never leaves it; always plaintext',
    hops: [{ from: 'engine', to: 'secrets', port: 2610 }],
  },
  {
    id: 'prometheus->metrics',
    client: 'Prometheus',
    server: 'engine metrics and other scrape targets',
    port: 2112,
    reason: 'Prometheus scrapes are plain HTTP; the chart has no TLS setting for them',
    hops: [{ from: 'prometheus', to: 'engine', port: 2112 }],
  },
];

/** Server ports that belong to exempt connections: the classifier attributes flows to these. */
export const EXEMPT_PORTS: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  // 5432 serves several exempt clients: a flow to it is attributed to the first entry.
  for (const e of EXEMPTIONS) if (e.port !== null && !m.has(e.port)) m.set(e.port, e.id);
  return m;
})();
