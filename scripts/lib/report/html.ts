// The report as one self-contained HTML page: per profile the topology diagram (inline SVG laid
// out by ELK at report time) with arrows coloured by verdict, the evidence of every arrow on
// hover, keyboard focus or click; the profile x path heat map linked to the arrows; the steps
// timeline; the errata of as-documented runs on the paths they broke. Inline CSS, no script, no
// external reference: it opens offline. Like every form, it never carries key material.
import { EXEMPTIONS, PATH_IDS, type PathId } from '../../../scenarios/index.ts';
import { ARROW_CLASSES, ARROW_STYLES, arrowClass, stateText } from './arrow-style.ts';
import { type Actors, buildDiagram, type Diagram } from './diagram.ts';
import { type ErrataOnPaths, errataOnPaths, type StepLike } from './errata-paths.ts';
import { exemptionHtml, pathEvidenceHtml, type VerdictJson } from './evidence-html.ts';
import { layoutDiagram, type PlacedDiagram } from './layout.ts';
import { assertNoKeyMaterial, columnName } from './render.ts';
import { esc, renderSvg, slug } from './svg.ts';
import type { ProfileResult, RunReport } from './types.ts';

/** A run report as the JSON carries it: a cluster run adds its steps; newer runs may add more. */
export type HtmlReport = RunReport & { steps?: StepLike[]; components?: unknown; blocked?: unknown };

/** Who served and called each path, where a run used stand-ins (control-plane runs say so). */
const actorsOf = (r: ProfileResult): Actors | undefined => (r as ProfileResult & { actors?: Actors }).actors;

const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--panel:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header,main>section{padding:12px 20px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:18px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:0 0 6px}h4{font-size:13px;margin:10px 0 4px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--panel);padding:0 3px;border-radius:3px}
.meta,small{color:var(--muted)}
.pass{color:#1a7f37}.fail{color:#cf222e}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:6px 0;padding:0;list-style:none;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:28px;height:0;border-top:4px solid;vertical-align:middle;margin-right:6px}
${ARROW_CLASSES.map((c) => {
  const s = ARROW_STYLES[c];
  return `.swatch.${c}{border-top-color:${s.colour};border-top-style:${s.dash ? 'dashed' : 'solid'}}td.cell.${c}{background:${s.colour}1f;border-left:4px solid ${s.colour}}`;
}).join('\n')}
table{border-collapse:collapse}
.heat th,.heat td{border:1px solid var(--line);padding:3px 8px;font-size:13px;text-align:left}
.heat td.cell a{color:inherit;text-decoration:none;display:block}
.heat td.cell a:hover,.heat td.cell a:focus{text-decoration:underline}
.profile{border-top:1px solid var(--line)}
.diagram svg{display:block;max-width:100%;height:auto;margin:0 auto}
/* Each arrow's evidence is a panel docked on the side of the screen away from the arrow. */
.ev{display:none;position:fixed;bottom:12px;width:min(440px,calc(100vw - 24px));max-height:min(600px,calc(100vh - 24px));overflow:auto;border:1px solid #8c959f;border-radius:8px;padding:10px 12px;background:#fffffff5;box-shadow:0 8px 24px #1f232833;font-size:12.5px;pointer-events:none;z-index:2}
.ev.dock-right{right:12px}.ev.dock-left{left:12px}
.profile:has(.edge:target) .ev,.ev:target{pointer-events:auto}
.ev .close{float:right;text-decoration:none;font-size:16px;color:var(--muted)}
.hint{margin:4px 0}
.ev ul{margin:2px 0 6px;padding-left:18px}.ev li{margin:1px 0;word-break:break-word}
.ev .reason{font-family:ui-monospace,monospace;font-size:12px;word-break:break-word}
.ev .standin{background:#fbefff;border:1px solid #8250df;padding:4px 6px;border-radius:4px}
.ev .erratum{background:#fff8c5;border:1px solid #d4a72c;padding:4px 6px;border-radius:4px}
b.ok{color:#1a7f37}b.bad{color:#cf222e}
.kv th{text-align:left;padding-right:8px;vertical-align:top}
svg.topology text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;font-size:12px}
svg.topology .ns rect{fill:#f6f8fa;stroke:#d1d9e0}
svg.topology .ns text{font-size:11px;fill:#59636e;font-weight:600}
svg.topology .node rect{fill:#fff;stroke:#454c54}
svg.topology .node.standin rect{stroke-dasharray:4 3;fill:#fbf7ff}
svg.topology .node text{text-anchor:middle}
svg.topology .node .name{font-size:13px;font-weight:600}
svg.topology .node .detail{font-size:10px;fill:#59636e}
svg.topology .edge{cursor:pointer;outline:none}
svg.topology .edge .hit{stroke:transparent;stroke-width:14;fill:none}
svg.topology .edge .line{fill:none}
svg.topology .edge .label-bg{fill:#fff;fill-opacity:.92}
svg.topology .edge .label{font-size:11px;text-anchor:middle;font-weight:600}
svg.topology .edge.exempt .label{font-weight:400}
svg.topology .edge:hover .hit,svg.topology .edge:focus .hit,svg.topology .edge:target .hit{stroke:#0969da33}
svg.topology .edge:hover .label-bg,svg.topology .edge:focus .label-bg,svg.topology .edge:target .label-bg{stroke:#0969da}
.timeline td,.timeline th{padding:2px 8px;font-size:13px;border-bottom:1px solid var(--line);vertical-align:top}
.bar{position:relative;height:12px;min-width:240px;background:var(--panel)}
.bar span{position:absolute;top:0;height:12px;min-width:2px;border-radius:2px}
.bar .ok{background:#2da44e}.bar .failed{background:#cf222e}.bar .skipped{background:#afb8c1}.bar .blocked{background:#8250df}
pre{white-space:pre-wrap;font-size:12px;background:var(--panel);padding:6px;border-radius:4px;max-height:300px;overflow:auto}
.errata td,.errata th{padding:3px 8px;border-bottom:1px solid var(--line);font-size:13px;vertical-align:top;text-align:left}
@media print{.ev{display:block;position:static;max-height:none;width:auto;box-shadow:none;border-width:1px 0 0;border-radius:0}}
`;

interface Section {
  key: string;
  result: ProfileResult;
  errata: ErrataOnPaths | null;
  diagram: Diagram;
}

const verdictOf = (r: ProfileResult, id: string) => r.verdicts.find((v) => v.path === id);
const edgeSlug = (edgeId: string) => slug(edgeId);
export const edgeDomId = (key: string, edgeId: string) => `${key}-edge-${edgeSlug(edgeId)}`;
export const evidenceDomId = (key: string, edgeId: string) => `${key}-ev-${edgeSlug(edgeId)}`;

/** One layout for every diagram with the same namespaces: arrows stay in place across profiles. */
async function placeAll(sections: Section[]): Promise<Map<string, PlacedDiagram>> {
  const byNs = new Map<string, Section[]>();
  for (const s of sections) {
    const k = `${s.result.scenario.namespace}|${s.result.scenario.serviceNamespace}`;
    byNs.set(k, [...(byNs.get(k) ?? []), s]);
  }
  const placed = new Map<string, PlacedDiagram>();
  for (const group of byNs.values()) {
    const first = group[0]!.diagram;
    // Reserve each label's widest text over the group, so every profile's label fits its box.
    const template: Diagram = {
      ...first,
      nodes: first.nodes.map((n, i) => {
        const all = group.flatMap((s) => s.diagram.nodes[i]!.standIn ?? []);
        return all.length ? { ...n, standIn: [...new Set(all)] } : n;
      }),
      edges: first.edges.map((e, i) => ({
        ...e,
        label: group
          .map((s) => s.diagram.edges[i]!.label)
          .reduce((a, b) => (Array.from(b).length > Array.from(a).length ? b : a), e.label),
      })),
    };
    const laid = await layoutDiagram(template);
    for (const s of group) {
      placed.set(s.key, {
        ...laid,
        edges: laid.edges.map((e, i) => {
          const own = s.diagram.edges[i]!;
          return { ...e, label: own.label, cls: own.cls, errata: own.errata };
        }),
      });
    }
  }
  return placed;
}

function legend(): string {
  return `<ul class="legend">${ARROW_CLASSES.map(
    (c) => `<li data-class="${c}"><span class="swatch ${c}"></span>${esc(ARROW_STYLES[c].legend)}</li>`,
  ).join('')}</ul>`;
}

function heatMap(sections: Section[]): string {
  const head = `<tr><th>path</th>${sections.map((s) => `<th>${esc(columnName(s.result))}</th>`).join('')}</tr>`;
  const rows = PATH_IDS.map((id) => {
    const cells = sections.map((s) => {
      const v = verdictOf(s.result, id);
      const cls = arrowClass(v);
      const errata = s.errata?.byPath.get(id) ?? [];
      return `<td class="cell ${cls}" data-path="${esc(id)}" data-class="${cls}"><a href="#${edgeDomId(
        s.key,
        `path:${id}`,
      )}" title="${esc(v?.reason ?? 'not run')}">${ARROW_STYLES[cls].symbol} ${esc(stateText(v))}${
        errata.length ? ` <small>erratum ${errata.join(', ')}</small>` : ''
      }</a></td>`;
    });
    return `<tr><th><code>${esc(id)}</code></th>${cells.join('')}</tr>`;
  });
  return `<table class="heat">${head}${rows.join('')}</table>`;
}

/** Hover, focus or a link to an arrow shows its evidence: one rule per arrow, no script. */
function evidenceCss(sections: Section[]): string {
  const rules: string[] = [];
  for (const s of sections) {
    for (const e of s.diagram.edges) {
      const edge = `#${edgeDomId(s.key, e.id)}`;
      const ev = `#${evidenceDomId(s.key, e.id)}`;
      rules.push(
        `#${s.key}:has(${edge}:hover) ${ev},#${s.key}:has(${edge}:focus) ${ev},#${s.key}:has(${edge}:target) ${ev},${ev}:target`,
      );
    }
  }
  return `${rules.join(',\n')}{display:block}`;
}

function errataSection(s: Section): string {
  if (!s.errata) {
    const d = s.result.deviations;
    if (!d.length) return '';
    return `<details><summary>Deviations from the page (${esc(s.result.scenario.mode)}): ${d.length}</summary><ul>${d
      .map((x) => `<li>#${x.id} ${esc(x.title)}: ${esc(x.effect)}</li>`)
      .join('')}</ul></details>`;
  }
  const rows = s.errata.outcomes.map((o) => {
    const where = o.where
      .map((w) =>
        w.path
          ? `<a href="#${edgeDomId(s.key, `path:${w.path}`)}"><code>${esc(w.path)}</code></a>: ${esc(w.detail)}`
          : esc([w.step, w.object, w.event, w.detail].filter(Boolean).join(': ')),
      )
      .join('<br>');
    return `<tr data-erratum="${o.id}" data-status="${esc(o.status)}"><td>${o.id}</td><td>${esc(o.title)}</td><td><b>${esc(
      o.status,
    )}</b></td><td>${where || esc(o.summary)}</td></tr>`;
  });
  return `<h3>Errata of the page (as-documented): where each one broke the run</h3><table class="errata"><tr><th>#</th><th>erratum</th><th>status</th><th>where</th></tr>${rows.join(
    '',
  )}</table>`;
}

function profileSection(s: Section, placed: PlacedDiagram): string {
  const r = s.result;
  const name = columnName(r);
  const counts = { pass: 0, warn: 0, fail: 0, other: 0 };
  for (const v of r.verdicts) {
    if (v.status in counts) counts[v.status as 'pass' | 'warn' | 'fail']++;
    else counts.other++;
  }
  const exemptFlows = new Map((r.capture?.exempt ?? []).map((e) => [e.id, e.flows]));
  // The panel docks on the side away from the arrow's label, so it never hides the arrow.
  const dock = new Map(
    placed.edges.map((e) => {
      const x = e.labelBox ? e.labelBox.x + e.labelBox.width / 2 : (e.points[0]?.x ?? 0);
      return [e.id, x > placed.width / 2 ? 'dock-left' : 'dock-right'];
    }),
  );
  const evidence = s.diagram.edges.map((e) => {
    let body: string;
    if (e.path) {
      const errata = (s.errata?.outcomes ?? [])
        .filter((o) => e.errata.includes(o.id))
        .map((o) => ({
          id: o.id,
          title: o.title,
          status: o.status,
          detail: o.where
            .filter((w) => w.path === e.path)
            .map((w) => w.detail)
            .join('; '),
        }));
      body = pathEvidenceHtml(
        verdictOf(r, e.path) as VerdictJson | undefined,
        e.path,
        errata,
        actorsOf(r)?.[e.path],
      );
    } else {
      const ex =
        EXEMPTIONS.find((x) => x.id === e.exemption) ?? r.exemptions.find((x) => x.id === e.exemption);
      body = ex ? exemptionHtml(ex, exemptFlows.get(ex.id) ?? []) : esc(e.label);
    }
    return `<div class="ev ${dock.get(e.id)}" id="${evidenceDomId(s.key, e.id)}"><a class="close" href="#${s.key}" title="close">×</a>${body}</div>`;
  });
  const svg = renderSvg(placed, {
    key: s.key,
    title: `Topology of ${name}: ${r.verdicts.length} paths coloured by verdict`,
    evidenceId: (id) => evidenceDomId(s.key, id),
    tooltip: (id) => {
      const e = s.diagram.edges.find((x) => x.id === id)!;
      if (e.path) return `${e.path}: ${verdictOf(r, e.path)?.reason ?? 'not run'}`;
      return `${e.exemption} (exempt): always plaintext`;
    },
  });
  const notes = [
    r.mutation
      ? `<p><b>Planted flaw:</b> ${esc(r.mutation.name)} on <code>${esc(r.mutation.path)}</code> (${esc(
          r.mutation.description,
        )})</p>`
      : '',
    r.notes.length
      ? `<details><summary>Notes (${r.notes.length})</summary><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></details>`
      : '',
  ].join('');
  return `<section class="profile" id="${s.key}" data-profile="${esc(r.scenario.name)}">
<h2>${esc(name)} <small>${esc(r.source)} · ${esc(r.scenario.mode)} · release namespace ${esc(
    r.scenario.namespace,
  )} · ${counts.pass} pass, ${counts.warn} warn, ${counts.fail} fail${counts.other ? `, ${counts.other} other` : ''} · ${(
    r.durationMs / 1000
  ).toFixed(1)} s</small></h2>
${notes}
<p class="hint meta">Hover over, focus (Tab) or click an arrow to see its evidence: the probe's answers, what the capture saw, and the live configuration.</p>
<div class="diagram">${svg}</div>
<aside class="evidence" aria-live="polite">${evidence.join('\n')}</aside>
${errataSection(s)}
</section>`;
}

function timeline(report: HtmlReport): string {
  let steps: StepLike[] = report.steps ?? [];
  let note = '';
  if (steps.length === 0) {
    // A lab run has no steps: each profile's lab is one.
    let at = Date.parse(report.generatedAt) - report.results.reduce((n, r) => n + r.durationMs, 0);
    steps = report.results.map((r) => {
      const s = {
        id: r.scenario.name,
        title: `${r.source} run of ${columnName(r)}`,
        status: 'ok',
        startedAt: new Date(at).toISOString(),
        durationMs: r.durationMs,
      };
      at += r.durationMs;
      return s;
    });
    note = '<p class="meta">This run records no steps: each profile counts as one.</p>';
  }
  const starts = steps.map((s) => (s.startedAt ? Date.parse(s.startedAt) : Number.NaN));
  const t0 = Math.min(...starts.filter((n) => !Number.isNaN(n)));
  const end = Math.max(
    ...steps.map((s, i) => (Number.isNaN(starts[i]!) ? 0 : starts[i]! - t0) + s.durationMs),
    1,
  );
  const rows = steps.map((s, i) => {
    const off = Number.isNaN(starts[i]!) || !Number.isFinite(t0) ? 0 : starts[i]! - t0;
    const left = (100 * off) / end;
    const width = Math.max((100 * s.durationMs) / end, 0.3);
    const failed =
      s.status === 'failed' && s.error
        ? `<details open><summary>diagnostics</summary><pre>${esc(s.error)}</pre></details>`
        : '';
    return `<tr class="step ${esc(s.status)}" data-status="${esc(s.status)}"><td><code>${esc(s.id)}</code></td><td>${esc(s.title)}${failed}</td><td>${esc(
      s.status,
    )}</td><td>${(s.durationMs / 1000).toFixed(1)} s</td><td><div class="bar"><span class="${esc(s.status)}" style="left:${left.toFixed(
      2,
    )}%;width:${width.toFixed(2)}%"></span></div></td></tr>`;
  });
  return `<h2>Steps</h2>${note}<table class="timeline"><tr><th>step</th><th>what</th><th>status</th><th>duration</th><th>timeline</th></tr>${rows.join(
    '',
  )}</table>`;
}

function exemptSection(report: HtmlReport): string {
  const ex = report.results[0]?.exemptions ?? EXEMPTIONS;
  return `<h2>Exempt connections</h2><p class="meta">Plaintext in every profile (Direktiv v0.4.x has no setting for them): ${ex.length} per profile, ${
    report.summary.exempt
  } in total. Drawn as thin dashed grey arrows.</p><ul>${ex
    .map(
      (e) =>
        `<li><code>${esc(e.id)}</code> ${esc(e.server)}${e.port ? `:${e.port}` : ''}: ${esc(e.reason)}</li>`,
    )
    .join('')}</ul>`;
}

type Component = { name?: unknown; version?: unknown; source?: unknown };

/** The programs a run used (control-plane runs list them) and the steps that could not run here. */
function componentsSection(report: HtmlReport): string {
  const out: string[] = [];
  const comps = report.components;
  if (Array.isArray(comps) && comps.length) {
    const cell = (x: unknown) => esc(typeof x === 'string' ? x : JSON.stringify(x ?? ''));
    out.push(
      `<h2>Components</h2><table class="errata components"><tr><th>program</th><th>version</th><th>source</th></tr>${(
        comps as Component[]
      )
        .map((c) => `<tr><td>${cell(c.name)}</td><td>${cell(c.version)}</td><td>${cell(c.source)}</td></tr>`)
        .join('')}</table>`,
    );
  } else if (comps !== undefined && comps !== null) {
    out.push(`<h2>Components</h2><pre>${esc(JSON.stringify(comps, null, 2))}</pre>`);
  }
  const blocked = report.blocked;
  if (Array.isArray(blocked) && blocked.length) {
    out.push(
      `<h2>Blocked steps</h2><p class="meta">Not run here, never counted as a pass.</p><ul class="blocked">${(
        blocked as Array<{ id?: unknown; reason?: unknown }>
      )
        .map((b) => `<li><code>${esc(String(b.id ?? ''))}</code>: ${esc(String(b.reason ?? ''))}</li>`)
        .join('')}</ul>`,
    );
  }
  return out.join('');
}

export async function renderHtml(report: HtmlReport): Promise<string> {
  const sections: Section[] = report.results.map((result, i) => {
    const errata = errataOnPaths(result, report.steps ?? []);
    return {
      key: `p${i}-${slug(result.scenario.name)}`,
      result,
      errata,
      diagram: buildDiagram(
        { ...result, ...(actorsOf(result) ? { actors: actorsOf(result)! } : {}) },
        errata?.byPath ?? new Map<PathId, number[]>(),
      ),
    };
  });
  const placed = await placeAll(sections);
  const s = report.summary;
  const ok = s.fail === 0 && s.paths > 0;
  // Steps that could not run here: the verdicts hold for what ran, the run proves no more.
  const blocked = report.blocked?.length ?? 0;
  const sources = [...new Set(report.results.map((r) => r.source))].join(', ');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Direktiv TLS assertions: ${ok ? 'pass' : 'fail'}</title>
<style>${CSS}
${evidenceCss(sections)}</style></head>
<body>
<header><h1>Direktiv TLS assertions: <span class="${ok ? 'pass' : 'fail'}">${ok ? (blocked ? `INCONCLUSIVE (${blocked} step(s) blocked)` : 'PASS') : 'FAIL'}</span></h1>
<p class="meta">${s.profiles} profile(s), ${s.paths} paths: ${s.pass} pass, ${s.warn} warn, ${s.fail} fail; ${s.exempt} exempt listed · ${esc(
    sources,
  )} · generated ${esc(report.generatedAt)}</p>
${legend()}</header>
<main>
<section><h2>Profiles × paths</h2><p class="meta">Each cell is the state seen on the wire; click it to see its arrow and evidence.</p>${heatMap(sections)}</section>
${sections.map((x) => profileSection(x, placed.get(x.key)!)).join('\n')}
<section>${timeline(report)}</section>
<section>${exemptSection(report)}${componentsSection(report)}</section>
</main></body></html>
`;
  return assertNoKeyMaterial(html, 'the HTML report');
}
