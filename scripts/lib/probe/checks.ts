// Active facts judged against a path's expected state: named checks, each with the reason in
// words when it fails ("plaintext accepted on 6666", "certificate lacks direktiv-flow-hl.default").
// Every "X is refused" check is judged against the legitimate request to the same server (the
// real client's certificate, TLS, its ALPN and SNI): it passes when the probe is refused at any
// layer and the legitimate request gets a real answer, fails when the probe gets an answer, and
// is inconclusive (never pass, never fail) when the server refuses the real client too.
import type { PathExpectation } from '../../../scenarios/index.ts';
import { describeAnswer } from './answer.ts';
import type { ActiveCheck, ActiveFacts, AppAttempt, ObservedState, PlainFact, ProbeTarget } from './types.ts';

export type { ActiveCheck };

const MODERN = new Set(['TLSv1.2', 'TLSv1.3']);

function portOf(t: ProbeTarget): number {
  return t.displayPort ?? t.port;
}

function plainOn(facts: ActiveFacts, port: number): PlainFact | undefined {
  return facts.plaintext.find((p) => p.port === port);
}

function pass(name: string, detail: string, warning?: string): ActiveCheck {
  return warning ? { name, ok: true, detail, warning } : { name, ok: true, detail };
}

function fail(name: string, reason: string, detail: string): ActiveCheck {
  return { name, ok: false, detail, reason };
}

function inconclusive(name: string, reason: string, detail: string): ActiveCheck {
  return { name, ok: false, status: 'inconclusive', detail, reason };
}

/** One attempt in words: its layered answer when the probe recorded one. */
function attemptLine(a: AppAttempt | undefined): string {
  if (!a) return 'not attempted';
  return a.answer ? describeAnswer(a.answer) : a.detail;
}

function plainLine(p: PlainFact): string {
  return `${p.outcome}: ${p.detail}${p.firstBytes && p.outcome !== 'served' ? ` (first bytes ${p.firstBytes})` : ''}`;
}

/**
 * The legitimate request: what the path's real client sends (TLS, its ALPN and SNI, and under
 * mtls its certificate). A failed modern handshake (made with the real certificate) is its answer
 * when there is no request.
 */
function legitimateOf(facts: ActiveFacts, state: PathExpectation['state']): AppAttempt | undefined {
  if (!facts.handshake.ok)
    return { accepted: false, detail: `TLS handshake failed: ${facts.handshake.error}` };
  return state === 'mtls' ? facts.withClientCert : facts.withoutClientCert;
}

/** "X is refused", judged against the legitimate request (see the top of this file). */
function refusal(
  name: string,
  probe: { refused: boolean; line: string },
  legit: AppAttempt | undefined,
  acceptedReason: string,
  port: number,
): ActiveCheck {
  const both = `probe: ${probe.line}; legitimate request: ${attemptLine(legit)}`;
  if (!probe.refused) return fail(name, acceptedReason, both);
  if (legit?.accepted) return pass(name, both);
  return inconclusive(name, `the server refuses the real client too on ${port}`, both);
}

/** A refusal that names its cause: the server asked for a certificate and alerted for lack of one. */
function demandsCertificate(a: AppAttempt): boolean {
  const alert = a.answer?.alert ?? a.detail;
  return (
    /certificate required/i.test(alert) ||
    (/handshake failure/i.test(alert) && a.answer?.tls?.certificateRequested === true)
  );
}

function sansOf(facts: ActiveFacts): string {
  return facts.handshake.peer?.subjectAltName || 'no subjectAltName';
}

function plainWord(t: ProbeTarget): string {
  return t.protocol === 'grpc' ? 'plaintext gRPC' : 'plaintext HTTP';
}

/** The TLS checks shared by tls, mtls and https. */
function tlsChecks(t: ProbeTarget, facts: ActiveFacts, state: PathExpectation['state']): ActiveCheck[] {
  const port = portOf(t);
  const out: ActiveCheck[] = [];
  const main = plainOn(facts, t.port);
  if (main) {
    out.push(
      refusal(
        'plaintext-refused',
        { refused: main.outcome !== 'served' && main.outcome !== 'redirected', line: plainLine(main) },
        legitimateOf(facts, state),
        `${plainWord(t)} accepted on ${port}`,
        port,
      ),
    );
  }
  const h = facts.handshake;
  const legacy = facts.legacy.filter((l) => l.accepted);
  const legacyCheck = () =>
    refusal(
      'legacy-tls-refused',
      {
        refused: legacy.length === 0,
        line: facts.legacy
          .map((l) => `${l.version}: ${l.answer ? describeAnswer(l.answer) : l.detail}`)
          .join('; '),
      },
      legitimateOf(facts, state),
      `${legacy.map((l) => (l.version === 'TLSv1' ? 'TLS 1.0' : 'TLS 1.1')).join(' and ')} accepted on ${port}`,
      port,
    );
  if (!h.ok) {
    out.push(fail('tls-handshake', `no TLS on ${port}: ${h.error}`, h.error ?? ''));
    // Only a server stuck below TLS 1.2 has legacy facts here.
    if (legacy.length) out.push(legacyCheck());
    return out;
  }
  out.push(pass('tls-handshake', `${h.protocol} ${h.cipher ?? ''} alpn=${h.alpn ?? 'none'}`.trim()));
  out.push(
    h.protocol && MODERN.has(h.protocol)
      ? pass('tls-version', h.protocol)
      : fail('tls-version', `TLS version ${h.protocol} below 1.2 on ${port}`, String(h.protocol)),
  );
  out.push(legacyCheck());
  const chain = h.chain ?? { ok: false, detail: 'not checked' };
  out.push(
    chain.ok
      ? pass('chain', chain.detail)
      : fail(
          'chain',
          `certificate on ${port} not issued by the profile CA`,
          `${chain.detail}${h.authorizationError ? ` (${h.authorizationError})` : ''}`,
        ),
  );
  const name = h.name ?? { ok: false, detail: 'not checked' };
  out.push(
    name.ok
      ? pass('server-name', name.detail)
      : fail('server-name', `certificate lacks ${t.serverName} (${sansOf(facts)})`, name.detail),
  );
  const validity = h.validity ?? { ok: false, detail: 'not checked' };
  out.push(
    validity.ok
      ? pass('validity', validity.detail)
      : fail('validity', `certificate on ${port} ${validity.detail}`, validity.detail),
  );
  return out;
}

export function activeChecks(t: ProbeTarget, expected: PathExpectation, facts: ActiveFacts): ActiveCheck[] {
  const port = portOf(t);
  const out: ActiveCheck[] = [];
  if (expected.state === 'plain') {
    // The detector must SEE plaintext: on the plain port when there is one, else the path's port.
    const p = plainOn(facts, t.plainPort ?? t.port);
    const where = t.displayPlainPort ?? t.plainPort ?? port;
    if (!p) out.push(fail('plaintext-served', `plaintext not attempted on ${where}`, 'not attempted'));
    else if (p.outcome === 'served') out.push(pass('plaintext-served', p.detail));
    else
      out.push(
        fail(
          'plaintext-served',
          p.outcome === 'unreachable'
            ? `nothing answers plaintext on ${where}`
            : `plaintext ${p.outcome} on ${where} where the profile expects plaintext`,
          p.detail,
        ),
      );
  } else {
    out.push(...tlsChecks(t, facts, expected.state));
    if (t.plainPort !== undefined) {
      const pp = plainOn(facts, t.plainPort);
      const where = t.displayPlainPort ?? t.plainPort;
      if (!pp) out.push(fail('plain-port', `plaintext not attempted on ${where}`, 'not attempted'));
      else if (expected.state === 'https') {
        out.push(
          pp.outcome === 'redirected'
            ? pass('plain-port-redirects', `${pp.detail} -> ${pp.location}`)
            : fail(
                'plain-port-redirects',
                pp.outcome === 'served'
                  ? `plaintext HTTP served on ${where} instead of a redirect to https`
                  : `port ${where} does not redirect to https (${pp.outcome})`,
                pp.detail,
              ),
        );
      } else if (expected.plainPortOpen) {
        // Erratum 7: open by design of the pinned stack; a warning, never a pass of "refused".
        out.push(
          pass(
            'plain-port-open',
            `${pp.outcome}: ${pp.detail}`,
            pp.outcome === 'served'
              ? `port ${where} still serves plaintext HTTP beside TLS (Knative httpProtocol Enabled; --strict closes it)`
              : undefined,
          ),
        );
      } else {
        out.push(
          refusal(
            'plain-port-refused',
            { refused: pp.outcome !== 'served', line: plainLine(pp) },
            legitimateOf(facts, expected.state),
            `plaintext HTTP served on ${where}`,
            port,
          ),
        );
      }
    }
    if (facts.handshake.ok) {
      const legit = legitimateOf(facts, expected.state);
      if (expected.state === 'mtls') {
        const none = facts.withoutClientCert;
        out.push(
          none
            ? refusal(
                'no-client-cert-refused',
                { refused: !none.accepted, line: attemptLine(none) },
                legit,
                `a client without certificate is accepted on ${port}`,
                port,
              )
            : fail(
                'no-client-cert-refused',
                `no attempt without a client certificate on ${port}`,
                'not attempted',
              ),
        );
        const foreign = facts.withForeignClientCert;
        out.push(
          foreign
            ? refusal(
                'foreign-client-cert-refused',
                { refused: !foreign.accepted, line: attemptLine(foreign) },
                legit,
                `a client certificate from a foreign CA is accepted on ${port}`,
                port,
              )
            : fail(
                'foreign-client-cert-refused',
                `no foreign-CA client certificate to try on ${port}`,
                'not attempted',
              ),
        );
        const real = facts.withClientCert;
        out.push(
          !real
            ? fail('client-cert-accepted', `no client certificate to try on ${port}`, 'not attempted')
            : real.accepted
              ? pass('client-cert-accepted', attemptLine(real))
              : inconclusive(
                  'client-cert-accepted',
                  `the server refuses the real client too on ${port}`,
                  attemptLine(real),
                ),
        );
      } else {
        // tls / https: the real client presents no certificate, so the server must answer without one.
        const none = facts.withoutClientCert;
        out.push(
          none?.accepted
            ? pass('answers-without-client-cert', attemptLine(none))
            : none && demandsCertificate(none)
              ? fail(
                  'answers-without-client-cert',
                  `the server demands a client certificate on ${port} (the real client has none)`,
                  attemptLine(none),
                )
              : none
                ? inconclusive(
                    'answers-without-client-cert',
                    `the server refuses the real client too on ${port}`,
                    attemptLine(none),
                  )
                : fail(
                    'answers-without-client-cert',
                    `no answer over TLS without a client certificate on ${port}`,
                    'not attempted',
                  ),
        );
      }
    }
  }
  const rc = facts.realClient;
  if (rc) {
    out.push(
      rc.accepted
        ? pass('real-client', `${rc.client}: ${rc.detail}`)
        : fail('real-client', `the real client (${rc.client}) failed: ${rc.detail}`, rc.detail),
    );
  }
  return out;
}

export function observedState(t: ProbeTarget, facts: ActiveFacts): ObservedState {
  const served = facts.plaintext.some((p) => p.outcome === 'served');
  if (!facts.handshake.ok) return served ? 'plain' : 'down';
  const main = plainOn(facts, t.port);
  if (main?.outcome === 'served') return 'tls+plain';
  if (t.plainPort !== undefined) {
    const pp = plainOn(facts, t.plainPort);
    if (pp?.outcome === 'served') return 'tls+plain';
    if (pp?.outcome === 'redirected') return 'https';
  }
  // mtls only when the server demonstrably tells the two apart: it answers the real certificate
  // (or asked for one and alerted "certificate required") and refuses a client without one.
  const none = facts.withoutClientCert;
  if (!none || none.accepted) return 'tls';
  if (facts.withClientCert?.accepted) return 'mtls';
  return demandsCertificate(none) ? 'mtls' : 'tls';
}
