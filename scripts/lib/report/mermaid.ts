// The topology diagram as a Mermaid flowchart, for the Markdown report: GitHub renders Mermaid
// code blocks in job summaries, while it strips inline <svg> and data: image URIs from Markdown.
// Same model as the HTML's SVG (diagram.ts): the same boxes, namespaces, arrows and colours.
import { ARROW_STYLES } from './arrow-style.ts';
import type { Diagram } from './diagram.ts';

const id = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_');
/** Mermaid label text: quotes and markup as entity codes. */
const text = (s: string) => s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');

export function renderMermaid(d: Diagram): string {
  const out = ['flowchart TD'];
  for (const g of d.groups) {
    out.push(`  subgraph ns_${id(g.id)}["${text(g.label)}"]`);
    for (const n of d.nodes.filter((x) => x.group === g.id)) out.push(`    ${id(n.id)}["${text(n.label)}"]`);
    out.push('  end');
  }
  d.edges.forEach((e) => {
    const arrow = e.cls === 'exempt' ? '-.->' : '-->';
    out.push(`  ${id(e.from)} ${arrow}|"${text(e.label)}"| ${id(e.to)}`);
  });
  d.edges.forEach((e, i) => {
    const s = ARROW_STYLES[e.cls];
    out.push(
      `  linkStyle ${i} stroke:${s.colour},stroke-width:${s.width}px${s.dash ? `,stroke-dasharray:${s.dash.replace(' ', ' ')}` : ''}`,
    );
  });
  return out.join('\n');
}
