// The evidence behind one arrow, as HTML: what a hover, a keyboard focus or a click on the arrow
// shows. Probe answers, captured flows and live-configuration findings, verbatim; never a key
// (certificates are summarised by subject, issuer, names and validity; the PEM stays in the JSON).
import { type Exemption, isPathId, PATHS } from '../../../scenarios/index.ts';
import type { FlowSummary } from '../evidence/types.ts';
import { ARROW_STYLES, arrowClass, stateText } from './arrow-style.ts';
import { pathPorts } from './diagram.ts';
import { esc } from './svg.ts';

/** A path verdict as a saved JSON report carries it; optional fields are read defensively. */
export interface VerdictJson {
  path: string;
  status: string;
  reason?: string;
  expected: { state: string; plainPortOpen?: boolean };
  observed?: string;
  basis?: string[];
  warnings?: string[];
  judgements?: Array<{ kind: string; ok: boolean; reason: string }>;
  evidence?: {
    passive?: {
      flows?: FlowSummary[];
      tlsFlows?: number;
      plaintextFlows?: number;
      plaintextBytes?: number;
      notes?: string[];
    };
    active?: {
      target?: {
        address?: string;
        port?: number;
        displayPort?: number;
        serverName?: string;
        protocol?: string;
      };
      facts?: {
        plaintext?: Array<{ displayPort?: number; port?: number; outcome?: string; detail?: string }>;
        handshake?: {
          ok?: boolean;
          protocol?: string;
          cipher?: string;
          alpn?: string | null;
          error?: string;
          authorizationError?: string | null;
          peer?: {
            subject?: string;
            issuer?: string;
            subjectAltName?: string;
            validFrom?: string;
            validTo?: string;
          };
        };
        realClient?: { client?: string; accepted?: boolean; detail?: string };
      };
      checks?: Array<{ name: string; ok: boolean; detail: string; reason?: string; warning?: string }>;
      durationMs?: number;
    };
    config?: {
      ok?: boolean;
      findings?: string[];
      /** Optional richer records (object, what, live value, source file and line). */
      checks?: Array<Record<string, unknown>>;
    };
  };
}

export interface Erratum {
  id: number;
  title: string;
  status: string;
  detail: string;
}

const li = (s: string, cls = '') => `<li${cls ? ` class="${cls}"` : ''}>${s}</li>`;
const ok = (b: boolean | undefined) => (b ? '<b class="ok">ok</b>' : '<b class="bad">FAIL</b>');

function flowLine(f: FlowSummary): string {
  const tls = [f.tlsVersion, f.sni ? `SNI ${f.sni}` : '', f.alpn?.length ? `ALPN ${f.alpn.join(',')}` : '']
    .filter(Boolean)
    .join(', ');
  return `${f.client} → ${f.server} <b>${esc(f.class)}</b>${tls ? ` (${esc(tls)})` : ''}, ${f.plaintextBytes} bytes in clear${
    f.detail ? `; ${esc(f.detail)}` : ''
  }`;
}

/** Anything a newer report adds to a verdict (e.g. whether each end was real or a stand-in). */
function extraFields(v: Record<string, unknown>): string {
  const known = new Set([
    'path',
    'status',
    'ok',
    'reason',
    'reasons',
    'expected',
    'observed',
    'basis',
    'warnings',
    'judgements',
    'evidence',
    'server',
    'client',
  ]);
  const rows = Object.entries(v)
    .filter(([k, x]) => !known.has(k) && x !== undefined && x !== null)
    .map(
      ([k, x]) => `<tr><th>${esc(k)}</th><td>${esc(typeof x === 'string' ? x : JSON.stringify(x))}</td></tr>`,
    );
  return rows.length ? `<h4>More</h4><table class="kv">${rows.join('')}</table>` : '';
}

function configCheck(c: Record<string, unknown>): string {
  const s = (k: string) => (typeof c[k] === 'string' || typeof c[k] === 'number' ? String(c[k]) : '');
  const where = [s('file') || s('source'), s('line')].filter(Boolean).join(':');
  const text = [
    s('object'),
    s('what'),
    s('live') ? `live: ${s('live')}` : s('actual') ? `live: ${s('actual')}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return li(
    `${ok(c.ok as boolean)} ${esc(text || JSON.stringify(c))}${where ? ` <code>${esc(where)}</code>` : ''}`,
  );
}

export function pathEvidenceHtml(
  v: VerdictJson | undefined,
  pathId: string,
  errata: Erratum[],
  actors?: { server: string; client: string },
): string {
  const info = isPathId(pathId) ? PATHS[pathId] : undefined;
  const cls = arrowClass(v);
  const out: string[] = [];
  out.push(
    `<h3><span class="swatch ${cls}"></span>${esc(pathId)} <small>${esc(ARROW_STYLES[cls].legend)}</small></h3>`,
  );
  if (info) {
    out.push(
      `<p class="meta">${esc(info.description)}; port ${pathPorts(info.id)}, ${esc(info.protocol)}; dials <code>${esc(
        info.service,
      )}</code>; controlled by <code>${esc(info.controlledBy)}</code></p>`,
    );
  }
  const who = actors ?? (v as { server?: unknown; client?: unknown } | undefined);
  if (typeof who?.server === 'string' || typeof who?.client === 'string') {
    const standIn = /stand-in/i.test(`${who?.server} ${who?.client}`);
    out.push(
      `<p class="${standIn ? 'standin' : 'meta'}">server: ${esc(String(who?.server ?? '?'))}, client: ${esc(
        String(who?.client ?? '?'),
      )}${standIn ? ' (a verdict on a stand-in is no verdict on the real program)' : ''}</p>`,
    );
  }
  if (!v) {
    out.push('<p>No verdict for this path in the report: the run stopped before it was measured.</p>');
    return out.join('');
  }
  out.push(
    `<p><b>${esc(v.status)}</b>: expected <code>${esc(v.expected.state)}</code>${
      v.expected.plainPortOpen ? ' (plain port open by design)' : ''
    }, seen <code>${esc(stateText(v))}</code>; evidence: ${esc(v.basis?.length ? v.basis.join(' + ') : 'none')}</p>`,
    `<p class="reason">${esc(v.reason ?? '')}</p>`,
  );
  for (const e of errata) {
    out.push(`<p class="erratum">Erratum ${e.id} (${esc(e.status)}): ${esc(e.title)}. ${esc(e.detail)}</p>`);
  }
  if (v.warnings?.length)
    out.push(`<ul class="warnings">${v.warnings.map((w) => li(`! ${esc(w)}`)).join('')}</ul>`);
  // One kind of evidence: its judgement is the reason above; several: each kind's own word.
  if ((v.judgements?.length ?? 0) > 1) {
    out.push(
      `<h4>Judgements</h4><ul>${v.judgements!.map((j) => li(`${ok(j.ok)} ${esc(j.kind)}: ${esc(j.reason)}`)).join('')}</ul>`,
    );
  }
  const a = v.evidence?.active;
  if (a) {
    const t = a.target ?? {};
    out.push(
      `<h4>Probe answers</h4><p class="meta">dialled ${esc(`${t.address ?? '?'}:${t.port ?? '?'}`)}${
        t.displayPort && t.displayPort !== t.port ? ` (stands for ${t.displayPort})` : ''
      } as <code>${esc(t.serverName ?? '')}</code>${a.durationMs !== undefined ? `, ${a.durationMs} ms` : ''}</p>`,
    );
    const f = a.facts ?? {};
    const items: string[] = [];
    for (const p of f.plaintext ?? [])
      items.push(
        li(`plaintext to ${p.displayPort ?? p.port}: <b>${esc(p.outcome ?? '?')}</b> ${esc(p.detail ?? '')}`),
      );
    const h = f.handshake;
    if (h) {
      items.push(
        li(
          h.ok
            ? `handshake ${esc(h.protocol ?? '')} ${esc(h.cipher ?? '')}${h.alpn ? ` ALPN ${esc(h.alpn)}` : ''}`
            : `handshake failed: ${esc(h.error ?? h.authorizationError ?? '')}`,
        ),
      );
      if (h.peer) {
        items.push(
          li(
            `certificate: subject ${esc(h.peer.subject ?? '')}; issuer ${esc(h.peer.issuer ?? '')}; ${esc(
              h.peer.subjectAltName ?? '',
            )}; valid ${esc(h.peer.validFrom ?? '')} to ${esc(h.peer.validTo ?? '')}`,
          ),
        );
      }
    }
    if (f.realClient)
      items.push(
        li(
          `real client ${esc(f.realClient.client ?? '')}: ${ok(f.realClient.accepted)} ${esc(f.realClient.detail ?? '')}`,
        ),
      );
    out.push(`<ul>${items.join('')}</ul>`);
    if (a.checks?.length) {
      out.push(
        `<ul class="checks">${a.checks
          .map((c) =>
            li(
              `${ok(c.ok)} ${esc(c.name)}: ${esc(c.detail)}${c.warning ? ` <i>(${esc(c.warning)})</i>` : ''}`,
            ),
          )
          .join('')}</ul>`,
      );
    }
  }
  const p = v.evidence?.passive;
  if (p) {
    out.push(
      `<h4>What the capture saw</h4><p class="meta">${p.tlsFlows ?? 0} TLS flows, ${p.plaintextFlows ?? 0} plaintext flows, ${
        p.plaintextBytes ?? 0
      } bytes in clear</p>`,
    );
    const flows = p.flows ?? [];
    if (flows.length)
      out.push(
        `<ul class="flows">${flows
          .slice(0, 20)
          .map((x) => li(flowLine(x)))
          .join('')}</ul>`,
      );
    if (flows.length > 20)
      out.push(`<p class="meta">…and ${flows.length - 20} more flows (in the JSON report)</p>`);
    for (const n of p.notes ?? []) out.push(`<p class="meta">${esc(n)}</p>`);
  }
  const c = v.evidence?.config;
  if (c) {
    out.push(
      `<h4>Live configuration</h4><p>${ok(c.ok)} ${c.findings?.length ? '' : 'matches the profile'}</p>`,
    );
    if (c.findings?.length) out.push(`<ul>${c.findings.map((x) => li(esc(x))).join('')}</ul>`);
    if (c.checks?.length) out.push(`<ul class="checks">${c.checks.map(configCheck).join('')}</ul>`);
  }
  if (!a && !p && !c) out.push('<p>No evidence was gathered for this path.</p>');
  out.push(extraFields(v as unknown as Record<string, unknown>));
  return out.join('');
}

export function exemptionHtml(
  e: Pick<Exemption, 'id' | 'client' | 'server' | 'port' | 'reason'>,
  flows: FlowSummary[],
): string {
  return [
    `<h3><span class="swatch exempt"></span>${esc(e.id)} <small>${esc(ARROW_STYLES.exempt.legend)}</small></h3>`,
    `<p class="meta">${esc(e.client)} → ${esc(e.server)}${e.port ? `:${e.port}` : ''}</p>`,
    `<p>${esc(e.reason)}</p>`,
    flows.length
      ? `<h4>What the capture saw</h4><ul class="flows">${flows
          .slice(0, 20)
          .map((f) => li(flowLine(f)))
          .join('')}</ul>`
      : '',
  ].join('');
}
