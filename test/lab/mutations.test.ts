// Every planted flaw fails exactly its path and no other. Each flaw is planted on its default
// path and on paths of other protocol families (gRPC, Go HTTPS, Envoy with SNI and a plain port).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, UsageError } from '../../scenarios/index.ts';
import { runLab } from '../../scripts/lib/lab/lab.ts';
import { MUTATION_NAMES, type MutationName, resolveMutation } from '../../scripts/lib/lab/mutations.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

/** [flaw, profile, target (undefined: its default), a phrase its reason must carry] */
const CASES: [MutationName, string, string | undefined, RegExp][] = [
  ['plaintext-server', 'full-mtls', undefined, /plaintext gRPC accepted on 6666/],
  ['plaintext-server', 'ingress-tls', 'client->ingress', /plaintext HTTP accepted on 443/],
  [
    'tls-where-plain',
    'grpc-mtls',
    undefined,
    /plaintext refused on 8890 where the profile expects plaintext/,
  ],
  ['tls-where-plain', 'plain', 'api->engine', /plaintext refused on 6666/],
  ['tls-where-plain', 'grpc-mtls', 'engine->knative', /plaintext refused on 80/],
  ['foreign-ca', 'full-mtls', undefined, /certificate on 5555 not issued by the profile CA/],
  ['foreign-ca', 'full-mtls', 'client->ingress', /certificate on 443 not issued by the profile CA/],
  ['missing-san', 'full-mtls', undefined, /certificate lacks direktiv-flow-hl\.default/],
  [
    'missing-san',
    'full-mtls',
    'engine->knative',
    /certificate lacks workflow-probe\.direktiv-services-direktiv/,
  ],
  ['expired', 'full-mtls', undefined, /certificate on 8890 expired on/],
  ['expired', 'upstream-tls', 'client->ingress', /certificate on 443 expired on/],
  ['client-cert-optional', 'full-mtls', undefined, /a client without certificate is accepted on 7777/],
  ['any-client-ca', 'full-mtls', undefined, /a client certificate from a foreign CA is accepted on 5555/],
  ['legacy-tls', 'full-mtls', undefined, /TLS 1\.0 and TLS 1\.1 accepted on 443/],
  ['legacy-tls', 'grpc-tls', 'api->engine', /TLS 1\.0 and TLS 1\.1 accepted on 6666/],
  ['dual-port', 'full-mtls', undefined, /plaintext HTTP accepted on 443/],
  ['dual-port', 'upstream-tls', 'ingress->api', /plaintext HTTP accepted on 8080/],
  ['dual-port', 'grpc-tls', 'engine->functions', /plaintext gRPC accepted on 5555/],
];

test('the case list plants every flaw', () => {
  assert.equal([...new Set(CASES.map((c) => c[0]))].sort(), [...MUTATION_NAMES].sort());
});

for (const [name, profile, path, phrase] of CASES) {
  test(`${name}${path ? `@${path}` : ''} in ${profile} fails exactly its path`, async () => {
    const r = await runLab(buildScenario({ profile }), {
      helm: testHelm,
      mutate: path ? `${name}@${path}` : name,
    });
    const target = r.mutation!.path;
    if (path) assert.is(target, path);
    const failing = r.verdicts.filter((v) => !v.ok).map((v) => v.path);
    assert.equal(
      failing,
      [target],
      r.verdicts
        .filter((v) => !v.ok)
        .map((v) => `${v.path}: ${v.reason}`)
        .join('\n'),
    );
    const v = r.verdicts.find((x) => x.path === target)!;
    assert.match(v.reason, phrase);
  });
}

test('--mutate: unknown flaws and paths it cannot apply to are usage errors', () => {
  const s = buildScenario({ profile: 'grpc-tls' });
  assert.throws(
    () => resolveMutation('nope', s),
    (e: unknown) => e instanceof UsageError && /unknown mutation/.test(String(e)),
  );
  assert.throws(
    () => resolveMutation('client-cert-optional', s),
    (e: unknown) => e instanceof UsageError && /applies to no path of grpc-tls/.test(String(e)),
  );
  assert.throws(
    () => resolveMutation('expired@engine->pod', s),
    (e: unknown) =>
      e instanceof UsageError &&
      /does not apply to engine->pod in grpc-tls \(expected plain\)/.test(String(e)),
  );
  assert.throws(
    () => resolveMutation('expired@nowhere', s),
    (e: unknown) => e instanceof UsageError && /unknown path/.test(String(e)),
  );
  assert.equal(resolveMutation('expired', s).path, 'ingress->ui');
});

test.run();
