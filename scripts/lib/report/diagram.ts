// The topology diagram of one profile's result, as data: boxes from scenarios/topology.ts grouped
// by namespace, one arrow per path of PATHS (coloured by its verdict) and per exempt connection
// of EXEMPTIONS. Pure; layout.ts places it, svg.ts and mermaid.ts draw it.
import {
  EXEMPTIONS,
  NAMESPACE_ROLES,
  type NamespaceRole,
  namespaceOf,
  PATH_IDS,
  PATHS,
  type PathId,
  type PathProtocol,
  TOPOLOGY,
  TOPOLOGY_NODES,
  type TopologyNode,
} from '../../../scenarios/index.ts';
import { ARROW_STYLES, type ArrowClass, arrowClass, stateText, type VerdictLike } from './arrow-style.ts';

export interface DiagramNode {
  id: TopologyNode;
  label: string;
  detail: string;
  group: NamespaceRole;
  /** What played this component where it was not the real program (a run on stand-ins says so). */
  standIn?: string[];
}

export interface DiagramGroup {
  id: NamespaceRole;
  /** The namespace's name in this scenario. */
  label: string;
}

export interface DiagramEdge {
  /** `path:<path-id>` or `exempt:<exemption-id>:<n>`. */
  id: string;
  from: TopologyNode;
  to: TopologyNode;
  /** Port and protocol, then the state: what the arrow's label says. */
  label: string;
  cls: ArrowClass;
  path?: PathId;
  exemption?: string;
  /** Errata of the page that broke this path (as-documented runs). */
  errata: number[];
}

export interface Diagram {
  groups: DiagramGroup[];
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

/** Who served and who called a path, when a run says (`real ...` or `stand-in ...`). */
export type Actors = Partial<Record<string, { server: string; client: string }>>;

export interface DiagramInput {
  scenario: { namespace: string; serviceNamespace: string };
  verdicts: ReadonlyArray<VerdictLike & { path: string }>;
  actors?: Actors;
}

const isStandIn = (who: string | undefined) => who !== undefined && /stand-in/i.test(who);

const PROTOCOL_WORD: Record<PathProtocol, string> = {
  'ingress-https': 'HTTP',
  http: 'HTTP',
  grpc: 'gRPC',
  'knative-http': 'HTTP',
  'pod-http': 'HTTP',
};

export function pathPorts(id: PathId): string {
  const p = PATHS[id];
  return p.plainPort ? `${p.port}/${p.plainPort}` : String(p.port);
}

export function pathLabel(id: PathId, v: VerdictLike | undefined): string {
  const cls = arrowClass(v);
  return `${ARROW_STYLES[cls].symbol} ${pathPorts(id)} ${PROTOCOL_WORD[PATHS[id].protocol]} · ${stateText(v)}`;
}

function topologyNode(c: string): TopologyNode {
  if (!(c in TOPOLOGY))
    throw new Error(`component ${c} ends a path but has no place in scenarios/topology.ts`);
  return c as TopologyNode;
}

export function buildDiagram(
  input: DiagramInput,
  errataByPath: ReadonlyMap<PathId, number[]> = new Map(),
): Diagram {
  const nodes: DiagramNode[] = TOPOLOGY_NODES.map((id) => ({
    id,
    ...TOPOLOGY[id],
    group: TOPOLOGY[id].namespace,
  }));
  for (const id of PATH_IDS) {
    const a = input.actors?.[id];
    for (const [node, who] of [
      [PATHS[id].server, a?.server],
      [PATHS[id].client, a?.client],
    ] as const) {
      const n = nodes.find((x) => x.id === node);
      if (n && who && isStandIn(who) && !n.standIn?.includes(who)) n.standIn = [...(n.standIn ?? []), who];
    }
  }
  const groups = NAMESPACE_ROLES.filter((r) => nodes.some((n) => n.group === r)).map((id) => ({
    id,
    label: namespaceOf(id, input.scenario),
  }));
  const edges: DiagramEdge[] = [];
  for (const id of PATH_IDS) {
    const p = PATHS[id];
    const v = input.verdicts.find((x) => x.path === id);
    const errata = errataByPath.get(id) ?? [];
    edges.push({
      id: `path:${id}`,
      from: topologyNode(p.client),
      to: topologyNode(p.server),
      label: `${pathLabel(id, v)}${errata.length ? ` · erratum ${errata.join(', ')}` : ''}`,
      cls: arrowClass(v),
      path: id,
      errata,
    });
  }
  for (const e of EXEMPTIONS) {
    e.hops.forEach((h, i) => {
      edges.push({
        id: `exempt:${e.id}:${i}`,
        from: h.from,
        to: h.to,
        label: String(h.port),
        cls: 'exempt',
        exemption: e.id,
        errata: [],
      });
    });
  }
  return { groups, nodes, edges };
}
