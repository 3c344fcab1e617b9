// npm run probe against a running lab: exit 0 when the expectation holds, 1 when not, 2 on bad input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario } from '../../scenarios/index.ts';
import { type Lab, startLab } from '../../scripts/lib/lab/lab.ts';
import { foreignClientCertificate } from '../../scripts/lib/lab/pki.ts';
import { probeCli } from '../../scripts/lib/probe/cli.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

let lab: Lab;
const dir = mkdtempSync(join(tmpdir(), 'probe-cli-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
let files: { ca: string; cert: string; key: string; otherKey: string };

test.before(async () => {
  lab = await startLab(buildScenario({ profile: 'full-mtls' }), { helm: testHelm });
  const flow = lab.pki.secret('default', 'direktiv-cert-flow')!;
  const other = lab.pki.secret('default', 'direktiv-cert-fn')!;
  files = {
    ca: file('ca.crt', flow['ca.crt']),
    cert: file('tls.crt', flow['tls.crt']),
    key: file('tls.key', flow['tls.key']),
    otherKey: file('other.key', other['tls.key']),
  };
});
test.after(async () => {
  await lab.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await probeCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}
const addr = (id: 'sidecar->engine' | 'ingress->api' | 'client->ingress') =>
  `127.0.0.1:${lab.endpoints[id].target.port}`;

test('mTLS gRPC server: --expect mtls holds (exit 0); tls and plain do not (exit 1)', async () => {
  const base = [
    '--target',
    addr('sidecar->engine'),
    '--protocol',
    'grpc',
    '--server-name',
    'direktiv-flow-hl.default',
    '--ca',
    files.ca,
  ];
  const m = await run([...base, '--expect', 'mtls', '--client-cert', files.cert, '--client-key', files.key]);
  assert.is(m.code, 0, m.out + m.err);
  assert.match(m.out, /✓ foreign-client-cert-refused/);
  assert.match(m.out, /RESULT: PASS/);
  const t = await run([...base, '--expect', 'tls']);
  assert.is(t.code, 1);
  assert.match(
    t.out,
    /RESULT: FAIL: the server demands a client certificate on \d+ \(the real client has none\)/,
  );
  const p = await run([...base, '--expect', 'plain']);
  assert.is(p.code, 1);
  assert.match(p.out, /plaintext refused on \d+ where the profile expects plaintext/);
});

test('the server refuses the "real" client too (its certificate is from a foreign CA): inconclusive, exit 4', async () => {
  const foreign = await foreignClientCertificate();
  const r = await run([
    '--target',
    addr('sidecar->engine'),
    '--protocol',
    'grpc',
    '--server-name',
    'direktiv-flow-hl.default',
    '--ca',
    files.ca,
    '--expect',
    'mtls',
    '--client-cert',
    file('foreign.crt', foreign['tls.crt']),
    '--client-key',
    file('foreign.key', foreign['tls.key']),
  ]);
  assert.is(r.code, 4, r.out + r.err);
  assert.match(r.out, /RESULT: INCONCLUSIVE/);
  assert.not.match(r.out, /RESULT: (PASS|FAIL)/);
});

test('a name the certificate lacks fails with the reason; --json prints the evidence', async () => {
  const r = await run([
    '--target',
    addr('ingress->api'),
    '--protocol',
    'https',
    '--expect',
    'tls',
    '--ca',
    files.ca,
    '--server-name',
    'direktiv-api-service.elsewhere',
    '--json',
  ]);
  assert.is(r.code, 1);
  const ev = JSON.parse(r.out);
  assert.is(ev.kind, 'active');
  assert.ok(
    ev.checks.some(
      (c: { name: string; reason?: string }) =>
        c.name === 'server-name' &&
        /certificate lacks direktiv-api-service\.elsewhere/.test(String(c.reason)),
    ),
  );
});

test('https with a plain port that redirects', async () => {
  const t = lab.endpoints['client->ingress'].target;
  const lb = file('lb.crt', lab.pki.secret('default', 'direktiv-lb')!['ca.crt']);
  const r = await run([
    '--target',
    `127.0.0.1:${t.port}`,
    '--plain-port',
    String(t.plainPort),
    '--protocol',
    'https',
    '--expect',
    'https',
    '--ca',
    lb,
    '--server-name',
    'direktiv.tls.test',
  ]);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /✓ plain-port-redirects/);
});

test('bad input exits 2', async () => {
  const t = ['--target', addr('sidecar->engine')];
  const cases: [string[], RegExp][] = [
    [['--protocol', 'grpc', '--expect', 'tls'], /missing --target/],
    [['--target', 'nohost', '--protocol', 'grpc', '--expect', 'plain'], /malformed --target 'nohost'/],
    [['--target', 'h:99999', '--protocol', 'grpc', '--expect', 'plain'], /--target must be a port number/],
    [[...t, '--protocol', 'ftp', '--expect', 'tls'], /unknown --protocol 'ftp'/],
    [[...t, '--protocol', 'grpc', '--expect', 'maybe'], /unknown --expect 'maybe'/],
    [
      [...t, '--protocol', 'http', '--expect', 'tls', '--ca', files.ca, '--server-name', 'a.b'],
      /--protocol http means plain HTTP/,
    ],
    [[...t, '--protocol', 'grpc', '--expect', 'tls', '--server-name', 'a.b'], /--expect tls needs --ca/],
    [
      [...t, '--protocol', 'grpc', '--expect', 'tls', '--ca', join(dir, 'none.crt'), '--server-name', 'a.b'],
      /cannot read --ca/,
    ],
    [
      [...t, '--protocol', 'grpc', '--expect', 'tls', '--ca', files.key, '--server-name', 'a.b'],
      /is not a PEM certificate/,
    ],
    [
      [...t, '--protocol', 'grpc', '--expect', 'mtls', '--ca', files.ca, '--server-name', 'a.b'],
      /needs --client-cert and --client-key/,
    ],
    [
      [
        ...t,
        '--protocol',
        'grpc',
        '--expect',
        'mtls',
        '--ca',
        files.ca,
        '--server-name',
        'a.b',
        '--client-cert',
        files.cert,
      ],
      /go together/,
    ],
    [
      [
        ...t,
        '--protocol',
        'grpc',
        '--expect',
        'mtls',
        '--ca',
        files.ca,
        '--server-name',
        'a.b',
        '--client-cert',
        files.cert,
        '--client-key',
        files.otherKey,
      ],
      /--client-key does not belong to --client-cert/,
    ],
    [
      [...t, '--protocol', 'grpc', '--expect', 'tls', '--ca', files.ca],
      /the target is an IP address: give --server-name/,
    ],
    [
      [...t, '--protocol', 'https', '--expect', 'https', '--ca', files.ca, '--server-name', 'a.b'],
      /--expect https needs --plain-port/,
    ],
  ];
  for (const [args, msg] of cases) {
    const r = await run(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.match(r.err, msg);
  }
});

test.run();
