// Active facts judged against a path's expected state: named checks, each with the reason in
// words when it fails ("plaintext accepted on 6666", "certificate lacks direktiv-flow-hl.default").
import type { PathExpectation } from '../../../scenarios/index.ts';
import type { ActiveCheck, ActiveFacts, ObservedState, PlainFact, ProbeTarget } from './types.ts';

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

function sansOf(facts: ActiveFacts): string {
  return facts.handshake.peer?.subjectAltName || 'no subjectAltName';
}

function plainWord(t: ProbeTarget): string {
  return t.protocol === 'grpc' ? 'plaintext gRPC' : 'plaintext HTTP';
}

/** The TLS checks shared by tls, mtls and https. */
function tlsChecks(t: ProbeTarget, facts: ActiveFacts): ActiveCheck[] {
  const port = portOf(t);
  const out: ActiveCheck[] = [];
  const main = plainOn(facts, t.port);
  if (main) {
    out.push(
      main.outcome === 'served' || main.outcome === 'redirected'
        ? fail('plaintext-refused', `${plainWord(t)} accepted on ${port}`, main.detail)
        : pass('plaintext-refused', `${main.outcome}: ${main.detail}`),
    );
  }
  const h = facts.handshake;
  const legacy = facts.legacy.filter((l) => l.accepted);
  const legacyCheck = () =>
    legacy.length
      ? fail(
          'legacy-tls-refused',
          `${legacy.map((l) => (l.version === 'TLSv1' ? 'TLS 1.0' : 'TLS 1.1')).join(' and ')} accepted on ${port}`,
          legacy.map((l) => `${l.version}: ${l.detail}`).join('; '),
        )
      : pass('legacy-tls-refused', facts.legacy.map((l) => `${l.version}: ${l.detail}`).join('; '));
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

function attemptDetail(a: { detail: string } | undefined): string {
  return a ? a.detail : 'not attempted';
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
    out.push(...tlsChecks(t, facts));
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
          pp.outcome === 'served'
            ? fail('plain-port-refused', `plaintext HTTP served on ${where}`, pp.detail)
            : pass('plain-port-refused', `${pp.outcome}: ${pp.detail}`),
        );
      }
    }
    if (facts.handshake.ok) {
      if (expected.state === 'mtls') {
        const none = facts.withoutClientCert;
        out.push(
          none && !none.accepted
            ? pass('no-client-cert-refused', none.detail)
            : fail(
                'no-client-cert-refused',
                `a client without certificate is accepted on ${port}`,
                attemptDetail(none),
              ),
        );
        const foreign = facts.withForeignClientCert;
        out.push(
          foreign && !foreign.accepted
            ? pass('foreign-client-cert-refused', foreign.detail)
            : fail(
                'foreign-client-cert-refused',
                foreign
                  ? `a client certificate from a foreign CA is accepted on ${port}`
                  : `no foreign-CA client certificate to try on ${port}`,
                attemptDetail(foreign),
              ),
        );
        const real = facts.withClientCert;
        out.push(
          real?.accepted
            ? pass('client-cert-accepted', real.detail)
            : fail(
                'client-cert-accepted',
                real
                  ? `the real client certificate is refused on ${port}`
                  : `no client certificate to try on ${port}`,
                attemptDetail(real),
              ),
        );
      } else {
        // tls / https: the real client presents no certificate, so the server must answer without one.
        const none = facts.withoutClientCert;
        out.push(
          none?.accepted
            ? pass('answers-without-client-cert', none.detail)
            : fail(
                'answers-without-client-cert',
                `no answer over TLS without a client certificate on ${port}`,
                attemptDetail(none),
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
  const required = facts.withoutClientCert && !facts.withoutClientCert.accepted;
  return required ? 'mtls' : 'tls';
}
