// Places a diagram with ELK (elkjs, the Eclipse Layout Kernel compiled to JavaScript): layered,
// top down, namespaces as nested boxes, orthogonal arrows with their labels placed by ELK so none
// overlaps. Cycles (the engine calls Knative, Knative's sidecar calls the engine back) are broken
// by model order (scenarios/topology.ts), which puts the Knative side in a column beside the
// ingress side instead of under it. Runs at report time; the page carries only the result.
import elkModule, { type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { Diagram, DiagramEdge, DiagramGroup, DiagramNode } from './diagram.ts';

// The bundle is CommonJS (module.exports is the constructor) while its typings describe an ES
// default export: take whichever the loader handed over.
const ELK = ((elkModule as unknown as { default?: unknown }).default ??
  elkModule) as typeof elkModule.default;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedDiagram {
  width: number;
  height: number;
  groups: Array<DiagramGroup & Box>;
  nodes: Array<DiagramNode & Box>;
  edges: Array<DiagramEdge & { points: Array<{ x: number; y: number }>; labelBox: Box | null }>;
}

/** Text metrics without a browser: a generous average advance for 12px sans-serif. */
export const FONT_PX = 12;
export function textWidth(s: string, px = FONT_PX): number {
  return Math.ceil([...s].length * px * 0.6);
}

const NODE_PAD = 10;
export const NODE_LINE = 16;

const ROOT_OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.edgeLabels.inline': 'false',
  'elk.layered.edgeLabels.sideSelection': 'ALWAYS_UP',
  'elk.spacing.nodeNode': '24',
  'elk.spacing.edgeNode': '14',
  'elk.spacing.edgeEdge': '12',
  'elk.spacing.edgeLabel': '3',
  'elk.layered.spacing.nodeNodeBetweenLayers': '30',
  'elk.layered.spacing.edgeNodeBetweenLayers': '12',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '12',
  'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.json.shapeCoords': 'ROOT',
  'elk.json.edgeCoords': 'ROOT',
};

const GROUP_OPTIONS = {
  'elk.padding': '[top=26,left=12,bottom=12,right=12]',
  'elk.nodeLabels.placement': 'H_LEFT V_TOP INSIDE',
};

export async function layoutDiagram(d: Diagram): Promise<PlacedDiagram> {
  const elk = new ELK();
  const size = (n: DiagramNode) => ({
    width:
      Math.max(
        textWidth(n.label, 13),
        textWidth(n.standIn?.length ? `stand-in · ${n.detail}` : n.detail, 10),
      ) +
      2 * NODE_PAD,
    height: 2 * NODE_LINE + NODE_PAD,
  });
  const edgesFor = (e: DiagramEdge): ElkExtendedEdge => ({
    id: e.id,
    sources: [e.from],
    targets: [e.to],
    labels: [{ id: `${e.id}#label`, text: e.label, width: textWidth(e.label, 11) + 6, height: 14 }],
  });
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: ROOT_OPTIONS,
    children: d.groups.map((g) => ({
      id: `ns:${g.id}`,
      layoutOptions: GROUP_OPTIONS,
      labels: [{ text: g.label, width: textWidth(g.label, 11), height: 14 }],
      children: d.nodes.filter((n) => n.group === g.id).map((n) => ({ id: n.id, ...size(n) })),
    })),
    edges: d.edges.map(edgesFor),
  };
  const out = await elk.layout(graph);
  const byId = new Map<string, ElkNode>();
  const walk = (n: ElkNode) => {
    byId.set(n.id, n);
    for (const c of n.children ?? []) walk(c);
  };
  walk(out);
  const box = (n: ElkNode | undefined): Box => ({
    x: n?.x ?? 0,
    y: n?.y ?? 0,
    width: n?.width ?? 0,
    height: n?.height ?? 0,
  });
  const edges = new Map<string, ElkExtendedEdge>();
  const walkEdges = (n: ElkNode) => {
    for (const e of n.edges ?? []) edges.set(e.id, e);
    for (const c of n.children ?? []) walkEdges(c);
  };
  walkEdges(out);
  return {
    width: Math.ceil(out.width ?? 0),
    height: Math.ceil(out.height ?? 0),
    groups: d.groups.map((g) => ({ ...g, ...box(byId.get(`ns:${g.id}`)) })),
    nodes: d.nodes.map((n) => ({ ...n, ...box(byId.get(n.id)) })),
    edges: d.edges.map((e) => {
      const laid = edges.get(e.id);
      const points = (laid?.sections ?? []).flatMap((s) => [
        s.startPoint,
        ...(s.bendPoints ?? []),
        s.endPoint,
      ]);
      const l = laid?.labels?.[0];
      return { ...e, points, labelBox: l ? box(l as ElkNode) : null };
    }),
  };
}
