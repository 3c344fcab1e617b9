// Flows -> path IDs. An exact port map (the lab: one listener per path on an ephemeral port)
// settles a flow at once. Otherwise the server port narrows a flow to the paths that use it;
// address maps from the caller (server address -> component, client address -> component) settle
// the ports that two paths share: 443/80 (user->external Envoy, engine->internal Envoy), 8080 (API,
// UI), 5555 (API and engine to the functions controller), 7777 (Knative sidecar and init-pod to the
// engine). Without a map, a shared-port flow is attributed to EVERY path sharing the port, and the
// evidence says so. Flows to exempt ports are reported as exempt; flows that fit no path are
// reported as unattributed. Nothing is dropped.
import { EXEMPT_PORTS, EXEMPTIONS } from '../../../scenarios/exemptions.ts';
import { type Component, PATH_IDS, PATHS, type PathId } from '../../../scenarios/paths.ts';
import type { FlowSummary, PassivePathEvidence } from '../evidence/types.ts';
import { PLAINTEXT_CLASSES } from './classify.ts';

type AddressMap = ReadonlyMap<string, Component> | Readonly<Record<string, Component>>;

export interface AttributionOptions {
  /** Server address (IP, no port) -> component, e.g. a pod IP -> 'functions'. */
  serverComponents?: AddressMap;
  /** Client address -> component, e.g. the API pod's IP -> 'api'. */
  clientComponents?: AddressMap;
  /**
   * More server ports per path, for ports seen on the wire after DNAT: e.g. the Envoy pods listen
   * on 8080/8443 behind Services on 80/443, and a capture on the node sees both.
   */
  extraPorts?: Partial<Record<PathId, readonly number[]>>;
  /**
   * Exact server port -> path, replacing the paths' well-known ports: the lab gives every path its
   * own listeners on ephemeral ports, so a port names one path and nothing else. Looked up first;
   * a flow to a port outside the map is exempt or unattributed as usual.
   */
  ports?: ReadonlyMap<number, PathId>;
}

export interface Attribution {
  /** Flows per path (a shared-port flow without an address map appears under each candidate). */
  byPath: Record<PathId, FlowSummary[]>;
  /** Shared-port flows that could not be narrowed to one path, with the paths they were given to. */
  ambiguous: Array<{ flow: FlowSummary; paths: PathId[]; reason: string }>;
  exempt: Array<{ id: string; reason: string; flows: FlowSummary[] }>;
  unattributed: Array<{ flow: FlowSummary; reason: string }>;
}

/** The address part of "ip:port" / "[v6]:port". */
export function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  return endpoint.slice(0, endpoint.lastIndexOf(':'));
}

function lookup(map: AddressMap | undefined, addr: string): Component | undefined {
  if (map === undefined) return undefined;
  if (map instanceof Map) return map.get(addr);
  return (map as Record<string, Component>)[addr];
}

export function portsOf(id: PathId, opts: AttributionOptions = {}): number[] {
  const p = PATHS[id];
  return [p.port, ...(p.plainPort === undefined ? [] : [p.plainPort]), ...(opts.extraPorts?.[id] ?? [])];
}

export function attributeFlows(flows: readonly FlowSummary[], opts: AttributionOptions = {}): Attribution {
  const out: Attribution = {
    byPath: Object.fromEntries(PATH_IDS.map((id) => [id, []])) as unknown as Record<PathId, FlowSummary[]>,
    ambiguous: [],
    exempt: [],
    unattributed: [],
  };
  const exemptById = new Map<string, FlowSummary[]>();
  for (const flow of flows) {
    const mapped = opts.ports?.get(flow.serverPort);
    if (mapped !== undefined) {
      out.byPath[mapped].push(flow);
      continue;
    }
    const exemptId = EXEMPT_PORTS.get(flow.serverPort);
    if (exemptId !== undefined) {
      if (!exemptById.has(exemptId)) exemptById.set(exemptId, []);
      exemptById.get(exemptId)!.push(flow);
      continue;
    }
    const byPort = opts.ports ? [] : PATH_IDS.filter((id) => portsOf(id, opts).includes(flow.serverPort));
    if (byPort.length === 0) {
      out.unattributed.push({
        flow,
        reason: `no path uses server port ${flow.serverPort}${opts.ports ? ' (not one of the mapped listener ports)' : ''}`,
      });
      continue;
    }
    let candidates = byPort;
    const serverComp = lookup(opts.serverComponents, hostOf(flow.server));
    if (serverComp !== undefined) {
      candidates = candidates.filter((id) => PATHS[id].server === serverComp);
      if (candidates.length === 0) {
        out.unattributed.push({
          flow,
          reason: `server ${flow.server} is ${serverComp}; no path to ${serverComp} uses port ${flow.serverPort}`,
        });
        continue;
      }
    }
    const clientComp = lookup(opts.clientComponents, hostOf(flow.client));
    if (clientComp !== undefined) {
      const narrowed = candidates.filter((id) => PATHS[id].client === clientComp);
      if (narrowed.length === 0) {
        out.unattributed.push({
          flow,
          reason: `client ${flow.client} is ${clientComp}; it is not the client of ${candidates.join(' or ')}`,
        });
        continue;
      }
      candidates = narrowed;
    }
    for (const id of candidates) out.byPath[id].push(flow);
    if (candidates.length > 1) {
      out.ambiguous.push({
        flow,
        paths: candidates,
        reason: `port ${flow.serverPort} is shared by ${candidates.join(' and ')}; no address map tells them apart, so the flow counts for each`,
      });
    }
  }
  for (const [id, fs] of exemptById) {
    out.exempt.push({ id, reason: EXEMPTIONS.find((e) => e.id === id)?.reason ?? '', flows: fs });
  }
  return out;
}

/** The passive evidence of one path: its flows, counts, and the ambiguity notes that concern it. */
export function passiveEvidence(attr: Attribution, path: PathId): PassivePathEvidence {
  const flows = attr.byPath[path];
  const notes = attr.ambiguous
    .filter((a) => a.paths.includes(path))
    .map((a) => `${a.flow.client} -> ${a.flow.server}: ${a.reason}`);
  const ev: PassivePathEvidence = {
    kind: 'passive',
    path,
    flows,
    tlsFlows: flows.filter((f) => f.class === 'tls').length,
    plaintextFlows: flows.filter((f) => PLAINTEXT_CLASSES.has(f.class)).length,
    plaintextBytes: flows.reduce((n, f) => n + f.plaintextBytes, 0),
  };
  if (notes.length) ev.notes = notes;
  return ev;
}
