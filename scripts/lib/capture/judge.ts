// The passive verdict of one path: captured flows against the expected state.
//   tls / mtls: zero plaintext flows, zero flows of unrecognised binary content (encryption
//     unproven is not encryption), and at least one TLS flow.
//   https: the same on the TLS port; in addition, flows that carry ONLY redirects to https:// are
//     allowed on any other port (the plain port 80, or the Envoy's 8080 seen after DNAT). The
//     client's request line on such a flow is plaintext by nature (the client chose to dial port
//     80); what the profile promises is that no content is SERVED in clear, and the classifier
//     sets httpsRedirectOnly only when every byte the server sent was those redirects.
//   plain: plaintext must be seen (the sanity leg: a detector that sees nothing proves nothing).
// Flows with no payload ('empty') prove nothing either way and are only counted.
import type { ExpectedState } from '../../../scenarios/expected.ts';
import { PATHS } from '../../../scenarios/paths.ts';
import type { FlowSummary, Judgement, PassivePathEvidence } from '../evidence/types.ts';
import { PLAINTEXT_CLASSES } from './classify.ts';

function show(f: FlowSummary): string {
  return `${f.client} -> ${f.server} ${f.class}${f.detail ? ` (${f.detail})` : ''}`;
}

function examples(fs: FlowSummary[]): string {
  const shown = fs.slice(0, 3).map(show).join('; ');
  return fs.length > 3 ? `${shown}; and ${fs.length - 3} more` : shown;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function versions(fs: FlowSummary[]): string {
  const v = [...new Set(fs.map((f) => f.tlsVersion ?? 'version not seen'))];
  return v.join(', ');
}

export function judgePassive(state: ExpectedState, ev: PassivePathEvidence): Judgement {
  const withPayload = ev.flows.filter((f) => f.class !== 'empty');
  const empty = ev.flows.length - withPayload.length;
  const tls = withPayload.filter((f) => f.class === 'tls');
  const plain = withPayload.filter((f) => PLAINTEXT_CLASSES.has(f.class));
  const unknown = withPayload.filter((f) => f.class === 'binary-unknown');
  const emptyNote = empty ? `; ${count(empty, 'flow')} without payload ignored` : '';
  const notes = ev.notes?.length ? `; note: ${ev.notes.join('; ')}` : '';

  if (state === 'plain') {
    if (plain.length > 0) {
      const bytes = plain.reduce((n, f) => n + f.plaintextBytes, 0);
      const extra = tls.length ? `; also ${count(tls.length, 'TLS flow')}` : '';
      return {
        ok: true,
        reason: `plaintext seen as expected: ${count(plain.length, 'flow')}, ${bytes} bytes in clear${extra}${emptyNote}${notes}`,
      };
    }
    if (withPayload.length === 0) {
      return {
        ok: false,
        reason: `no flow with payload captured on this path: a plain path must show plaintext, so the capture or the detector might be broken (or the path was not exercised)${emptyNote}${notes}`,
      };
    }
    return {
      ok: false,
      reason: `expected plaintext but saw none: ${examples(withPayload)}. Either the path is encrypted although the profile says plain, or the detector might be broken${notes}`,
    };
  }

  const problems: string[] = [];
  let allowedRedirects: FlowSummary[] = [];
  let offending = plain;
  if (state === 'https') {
    const tlsPort = ev.tlsPort ?? PATHS[ev.path].port;
    allowedRedirects = plain.filter(
      (f) => f.class === 'http1' && f.httpsRedirectOnly === true && f.serverPort !== tlsPort,
    );
    offending = plain.filter((f) => !allowedRedirects.includes(f));
  }
  if (offending.length) {
    const bytes = offending.reduce((n, f) => n + f.plaintextBytes, 0);
    problems.push(
      `${count(offending.length, 'plaintext flow')} (${bytes} bytes in clear): ${examples(offending)}`,
    );
  }
  if (unknown.length) {
    problems.push(
      `${count(unknown.length, 'flow')} neither TLS nor recognised plaintext (encryption unproven): ${examples(unknown)}`,
    );
  }
  if (tls.length === 0) {
    problems.push('no TLS flow captured: encryption cannot be proven (was the path exercised?)');
  }
  if (problems.length) return { ok: false, reason: `${problems.join('. ')}${emptyNote}${notes}` };

  let reason = `${count(tls.length, 'TLS flow')} (${versions(tls)}), zero plaintext`;
  if (allowedRedirects.length) {
    reason += `; ${count(allowedRedirects.length, 'plain-port flow')} carrying only redirects to https:// (allowed)`;
  }
  if (state === 'mtls') {
    const seen = tls.filter((f) => f.detail?.includes('client sent a certificate')).length;
    reason +=
      seen > 0
        ? `; a client certificate is visible on ${count(seen, 'flow')} (TLS 1.2)`
        : '; client certificates are encrypted under TLS 1.3 and not visible passively: the active probe decides mTLS';
  }
  return { ok: true, reason: `${reason}${emptyNote}${notes}` };
}
