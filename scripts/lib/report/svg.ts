// Draws a placed diagram as one inline SVG: namespaces as labelled boxes, components as boxes,
// each arrow a link to its evidence (hover and keyboard focus show it; see html.ts), with a
// <title> for a native tooltip. No script, no external reference: the SVG stands alone.
import { ARROW_CLASSES, ARROW_STYLES, type ArrowClass } from './arrow-style.ts';
import { NODE_LINE, type PlacedDiagram } from './layout.ts';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An id fragment from any text (path IDs carry `->`, custom profiles `:` and `+`). */
export function slug(s: string): string {
  return s
    .replace(/->/g, '-to-')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export interface SvgOptions {
  /** Prefix of every id in this SVG (several diagrams share one page). */
  key: string;
  /** Accessible name of the picture. */
  title: string;
  /** Where an arrow links to: the id of its evidence block (none: the arrow is not a link). */
  evidenceId?: (edgeId: string) => string | undefined;
  /** The native tooltip of an arrow. */
  tooltip?: (edgeId: string) => string;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

function pathData(points: ReadonlyArray<{ x: number; y: number }>): string {
  return points.map((p, i) => `${i ? 'L' : 'M'}${r1(p.x)} ${r1(p.y)}`).join(' ');
}

function marker(key: string, cls: ArrowClass): string {
  const c = ARROW_STYLES[cls].colour;
  return `<marker id="${key}-arrow-${cls}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="${c}"/></marker>`;
}

export function renderSvg(d: PlacedDiagram, o: SvgOptions): string {
  const pad = 4;
  const w = d.width + 2 * pad;
  const h = d.height + 2 * pad;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="topology" viewBox="${-pad} ${-pad} ${w} ${h}" width="${w}" height="${h}" role="img" aria-labelledby="${o.key}-title">`,
    `<title id="${o.key}-title">${esc(o.title)}</title>`,
    `<defs>${ARROW_CLASSES.map((c) => marker(o.key, c)).join('')}</defs>`,
  );
  for (const g of d.groups) {
    out.push(
      `<g class="ns" data-namespace="${esc(g.label)}"><rect x="${r1(g.x)}" y="${r1(g.y)}" width="${r1(g.width)}" height="${r1(g.height)}" rx="8"/><text x="${r1(g.x + 10)}" y="${r1(g.y + 17)}">${esc(g.label)}</text></g>`,
    );
  }
  for (const n of d.nodes) {
    const cx = n.x + n.width / 2;
    const standIn = n.standIn?.length ? ` standin" data-stand-in="${esc(n.standIn.join('; '))}` : '';
    const title = n.standIn?.length ? `<title>${esc(`${n.label}: ${n.standIn.join('; ')}`)}</title>` : '';
    out.push(
      `<g class="node${standIn}" data-node="${n.id}">${title}<rect x="${r1(n.x)}" y="${r1(n.y)}" width="${r1(n.width)}" height="${r1(n.height)}" rx="5"/><text class="name" x="${r1(cx)}" y="${r1(n.y + NODE_LINE)}">${esc(n.label)}</text><text class="detail" x="${r1(cx)}" y="${r1(n.y + 2 * NODE_LINE)}">${esc(
        n.standIn?.length ? `stand-in · ${n.detail}` : n.detail,
      )}</text></g>`,
    );
  }
  // Exempt arrows first: the judged ones are drawn over them.
  const edges = [...d.edges].sort((a, b) => Number(b.cls === 'exempt') - Number(a.cls === 'exempt'));
  for (const e of edges) {
    const s = ARROW_STYLES[e.cls];
    const target = o.evidenceId?.(e.id);
    const tag = target ? 'a' : 'g';
    const attrs = [
      `class="edge ${e.cls}"`,
      `id="${o.key}-edge-${slug(e.id)}"`,
      target ? `href="#${target}"` : '',
      e.path ? `data-path="${esc(e.path)}"` : '',
      e.exemption ? `data-exemption="${esc(e.exemption)}"` : '',
      `data-class="${e.cls}"`,
    ].filter(Boolean);
    const d0 = pathData(e.points);
    const line = `<path class="line" d="${d0}" stroke="${s.colour}" stroke-width="${s.width}"${
      s.dash ? ` stroke-dasharray="${s.dash}"` : ''
    } marker-end="url(#${o.key}-arrow-${e.cls})"/>`;
    const label = e.labelBox
      ? `<rect class="label-bg" x="${r1(e.labelBox.x - 1)}" y="${r1(e.labelBox.y)}" width="${r1(e.labelBox.width + 2)}" height="${r1(e.labelBox.height)}" rx="3"/><text class="label" x="${r1(e.labelBox.x + e.labelBox.width / 2)}" y="${r1(e.labelBox.y + e.labelBox.height - 3)}" fill="${e.cls === 'exempt' ? '#6e7781' : s.colour}">${esc(e.label)}</text>`
      : '';
    out.push(
      `<${tag} ${attrs.join(' ')}><title>${esc(o.tooltip?.(e.id) ?? e.label)}</title><path class="hit" d="${d0}"/>${line}${label}</${tag}>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
