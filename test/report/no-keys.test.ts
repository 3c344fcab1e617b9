// No private key material in any report or log: every report form, the CLIs' stdout and stderr
// (the real lab entry point included) are searched for "PRIVATE KEY" and for the bytes of every
// private key this process generated.
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario } from '../../scenarios/index.ts';
import { labCli } from '../../scripts/lib/lab/cli.ts';
import { labPkiFor } from '../../scripts/lib/lab/lab.ts';
import { generatedPrivateKeys } from '../../scripts/lib/lab/pki.ts';
import { probeCli } from '../../scripts/lib/probe/cli.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

const dir = mkdtempSync(join(tmpdir(), 'no-keys-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Encodings of a key a careless report could contain: PEM lines, base64 and hex of the scalar. */
function needles(pem: string): string[] {
  const lines = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  // PKCS#8 P-256: the 32-byte private scalar follows a fixed 36-byte prefix.
  const scalar = der.subarray(36, 68);
  const d = createPrivateKey(pem).export({ format: 'jwk' }).d!;
  return [
    ...lines.slice(1), // line 1 is the constant PKCS#8 EC prefix, shared by every P-256 key
    lines.join('').slice(48, 96),
    scalar.toString('hex'),
    scalar.toString('base64'),
    d,
  ];
}

function findings(what: string, text: string, keys: string[]): string[] {
  const out: string[] = [];
  if (/PRIVATE KEY/.test(text)) out.push(`${what} mentions PRIVATE KEY`);
  for (const pem of keys) {
    for (const n of needles(pem))
      if (text.includes(n)) out.push(`${what} contains key bytes (${n.slice(0, 12)}...)`);
  }
  return out;
}

test('reports, logs and stdout of the lab and probe commands carry no key material', async () => {
  const outputs: [string, string][] = [];
  const io = {
    stdout: (s: string) => outputs.push(['stdout', s]),
    stderr: (s: string) => outputs.push(['stderr', s]),
  };
  // Failing runs print the most detail: a planted flaw, and the page as written.
  for (const [i, args] of [
    ['--profile', 'full-mtls', '--mutate', 'client-cert-optional'],
    ['--profile', 'full-mtls', '--mode', 'as-documented'],
    ['--profile', 'plain,grpc-tls'],
    // Passive evidence: every captured flow's summary is in the reports.
    ['--profile', 'full-mtls', '--capture'],
  ].entries()) {
    await labCli(
      [
        ...args,
        '--json',
        join(dir, `${i}.json`),
        '--junit',
        join(dir, `${i}.xml`),
        '--markdown',
        join(dir, `${i}.md`),
      ],
      io,
      { helm: testHelm },
    );
  }
  // The probe command reads a key file: neither its text nor its JSON output may echo it.
  const pki = await labPkiFor(buildScenario({ profile: 'full-mtls' }), { helm: testHelm });
  const flow = pki.secret('default', 'direktiv-cert-flow')!;
  writeFileSync(join(dir, 'ca.crt'), flow['ca.crt']);
  writeFileSync(join(dir, 'tls.crt'), flow['tls.crt']);
  writeFileSync(join(dir, 'tls.key'), flow['tls.key']);
  for (const extra of [[], ['--json']]) {
    await probeCli(
      [
        '--target',
        '127.0.0.1:9',
        '--protocol',
        'grpc',
        '--expect',
        'mtls',
        '--server-name',
        'direktiv-flow-hl.default',
        '--ca',
        join(dir, 'ca.crt'),
        '--client-cert',
        join(dir, 'tls.crt'),
        '--client-key',
        join(dir, 'tls.key'),
        '--timeout',
        '500',
        ...extra,
      ],
      io,
    );
  }
  // The real entry point, as a user runs it (its keys are its own: only the PRIVATE KEY search
  // applies to its output; the key-bytes search covers the in-process runs above).
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/lab.ts', '--profile', 'grpc-mtls', '--mutate', 'any-client-ca'],
    {
      encoding: 'utf8',
    },
  );
  assert.is(child.status, 1, child.stderr);
  outputs.push(['lab process stdout', child.stdout], ['lab process stderr', child.stderr]);

  const keys = await generatedPrivateKeys();
  assert.ok(keys.length >= 20, `the scan knows the keys (${keys.length})`);
  assert.ok(keys.includes(flow['tls.key']), 'the probe client key is among them');
  const files = readdirSync(dir).filter((f) => /\.(json|xml|md)$/.test(f));
  assert.is(files.length, 12);
  const found = [
    ...files.flatMap((f) => findings(f, readFileSync(join(dir, f), 'utf8'), keys)),
    ...outputs.flatMap(([what, text]) => findings(what, text, keys)),
  ];
  assert.equal(found, []);
  // The scan itself can fire, on each encoding.
  for (const n of needles(flow['tls.key'])) assert.ok(findings('planted', `x ${n} y`, keys).length >= 1, n);
  assert.is(findings('planted', flow['tls.key'], keys).length > 1, true);
});

test.run();
