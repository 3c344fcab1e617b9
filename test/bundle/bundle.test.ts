import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { direktivPin, kindPin, nodeImagePin, pinsHash } from '../../kind/versions.ts';
import type { Values } from '../../scenarios/direktiv-values.ts';
import { BadInputError, UsageError } from '../../scenarios/index.ts';
import {
  type BundleInput,
  bundleFiles,
  type RunJson,
  readBundle,
  replayArgv,
  writeBundle,
} from '../../scripts/lib/bundle/index.ts';
import { holdsPrivateKey, redactSecrets } from '../../scripts/lib/bundle/redact.ts';
import { shellJoin, shellQuote, shellSplit } from '../../scripts/lib/bundle/shell.ts';
import { parseE2eArgs } from '../../scripts/lib/cli/e2e-args.ts';
import { buildPlan } from '../../scripts/lib/plan/build.ts';
import { projectRoot } from '../../scripts/lib/tools/fsutil.ts';

const scratch = mkdtempSync(join(tmpdir(), 'bundle-'));
const NOW = new Date('2026-11-27T12:00:00Z');
const DIGESTS = {
  'docker.io/vorteil/flow:v0.4.1': 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
  'quay.io/jetstack/cert-manager-controller:v1.13.6':
    'sha256:2222222222222222222222222222222222222222222222222222222222222222',
};

function input(argv: string[], more: Partial<BundleInput> = {}): BundleInput {
  const options = parseE2eArgs(argv);
  return {
    options,
    output: options.output as string,
    imageDigests: DIGESTS,
    plan: buildPlan(options),
    harness: { commit: 'c0ffee0000000000000000000000000000000000', dirty: false },
    cwd: projectRoot,
    now: NOW,
    ...more,
  };
}

const json = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunJson;

/** The argv of a printed `npm run e2e -- ...` command, as a shell would split it. */
function commandArgv(command: string): string[] {
  const words = shellSplit(command);
  assert.equal(words.slice(0, 4), ['npm', 'run', 'e2e', '--']);
  return words.slice(4);
}

test('content: what ran, versions, image digests, values, kind config, plan, seed, failure', async () => {
  const out = join(scratch, 'doc-run');
  const b = input(
    [
      '--profile',
      'full-mtls',
      '--mode',
      'as-documented',
      '--namespace',
      'direktiv',
      '--strict',
      '--output',
      out,
      '--junit',
      join(out, 'junit.xml'),
      '--json',
      join(scratch, 'elsewhere', 'report.json'),
      '--cluster-name',
      'tls-a',
      '--http-port',
      '28080',
      '--https-port',
      '28443',
      '--direktiv-ref',
      'v0.4.0',
      '--no-capture',
      '--keep-on-failure',
    ],
    {
      seed: 'wf-7f3a',
      failure: {
        step: 'direktiv.ready',
        message: 'deadline 600s: Deployment direktiv/direktiv not available\nmore',
      },
    },
  );
  const { dir, files, command } = await writeBundle(b);
  assert.is(dir, join(out, 'repro'));
  assert.equal(files, [
    'README.md',
    'direktiv-values/full-mtls.yaml',
    'kind-cluster.yaml',
    'plan.json',
    'plan.txt',
    'run.json',
  ]);
  assert.equal(await bundleFiles(dir), files);

  const r = json(dir);
  assert.is(r.bundleVersion, 1);
  assert.is(r.createdAt, NOW.toISOString());
  assert.is(r.harness.commit, 'c0ffee0000000000000000000000000000000000');
  assert.equal(r.run.scenarios, [
    {
      name: 'full-mtls',
      profile: 'full-mtls',
      features: ['ingress', 'upstream', 'grpc-tls', 'grpc-mtls', 'services'],
      mode: 'as-documented',
      namespace: 'direktiv',
      serviceNamespace: 'direktiv-services-direktiv',
      ingressHost: 'direktiv.tls.test',
      strict: true,
    },
  ]);
  assert.equal(r.run.namespaces, { release: 'direktiv', services: 'direktiv-services-direktiv' });
  assert.is(r.run.strict, true);
  assert.is(r.run.direktivRef, 'v0.4.0');
  assert.is(r.run.direktivRefGiven, true);
  assert.is(r.seed, 'wf-7f3a');
  assert.equal(r.failure, {
    step: 'direktiv.ready',
    message: 'deadline 600s: Deployment direktiv/direktiv not available\nmore',
  });
  // Every pin of kind/versions.ts, as data.
  const v = r.versions as Record<string, { version?: string; image?: string; commit?: string }>;
  assert.is(v.kindPin?.version, kindPin.version);
  assert.is(v.nodeImagePin?.image, nodeImagePin.image);
  assert.is(v.direktivPin?.commit, direktivPin.commit);
  for (const k of ['helmPin', 'kubectlPin', 'certManagerPin', 'knativePin', 'capturePin'])
    assert.ok(v[k], `versions.${k}`);
  assert.is(r.pinsHash, pinsHash());
  assert.equal(r.images, DIGESTS);
  assert.is(r.redactions, 0);

  // The files: the page's values verbatim (isolates.*), the kind ports, the plan as passed in.
  const values = parse(readFileSync(join(dir, 'direktiv-values/full-mtls.yaml'), 'utf8')) as Values;
  assert.is(values.isolates.certificate, 'direktiv-cert-fn');
  assert.is(values.functions.namespace, 'direktiv-services-direktiv');
  assert.is(values.flow.functionsProtocol, 'https');
  const kind = parse(readFileSync(join(dir, 'kind-cluster.yaml'), 'utf8')) as Values;
  assert.equal(
    kind.nodes[0].extraPortMappings.map((m: { hostPort: number }) => m.hostPort),
    [28080, 28443],
  );
  assert.equal(JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')), JSON.parse(JSON.stringify(b.plan)));
  assert.match(readFileSync(join(dir, 'plan.txt'), 'utf8'), 'Plan (nothing has been run):');

  // The README: the one command, the way back through --replay, the failure, the seed.
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  assert.match(readme, `\`\`\`sh\n${command}\n\`\`\``);
  // Paths outside the project stay absolute (a relative ../../tmp path would help nobody).
  assert.match(readme, `npm run e2e -- --replay ${dir}`);
  assert.match(
    readme,
    'The run failed at step `direktiv.ready`: deadline 600s: Deployment direktiv/direktiv not available\n',
  );
  assert.match(readme, 'seed: `wf-7f3a`');
  assert.match(
    readme,
    `| \`docker.io/vorteil/flow:v0.4.1\` | \`${DIGESTS['docker.io/vorteil/flow:v0.4.1']}\` |`,
  );
  assert.match(readme, 'Regenerated from the harness because the run stopped before writing them');
});

test('the replay command: explicit flags, same run; reports move to a fresh -replay folder', async () => {
  const out = join(scratch, 'cmd-run');
  const b = input([
    '--profile',
    'full-mtls',
    '--mode',
    'as-documented',
    '--namespace',
    'direktiv',
    '--strict',
    '--output',
    out,
    '--junit',
    join(out, 'junit.xml'),
    '--json',
    join(scratch, 'elsewhere', 'report.json'),
    '--cluster-name',
    'tls-a',
    '--http-port',
    '28080',
    '--https-port',
    '28443',
    '--direktiv-ref',
    'v0.4.0',
    '--no-capture',
    '--keep-on-failure',
  ]);
  const { command } = await writeBundle(b);
  const argv = commandArgv(command);
  const outRel = `${out}-replay`;
  assert.equal(argv, [
    '--profile',
    'full-mtls',
    '--mode',
    'as-documented',
    '--namespace',
    'direktiv',
    '--service-namespace',
    'direktiv-services-direktiv',
    '--ingress-host',
    'direktiv.tls.test',
    '--strict',
    '--direktiv-ref',
    'v0.4.0',
    '--cluster-name',
    'tls-a',
    '--http-port',
    '28080',
    '--https-port',
    '28443',
    '--no-capture',
    '--keep-on-failure',
    '--output',
    outRel,
    '--json',
    join(outRel, 'report.json'),
    '--junit',
    join(outRel, 'junit.xml'),
  ]);
  // Parsed back by the e2e parser, it is the same run.
  const again = parseE2eArgs(argv);
  const key = (o: typeof again) => ({
    scenarios: o.scenarios.map((s) => [
      s.name,
      s.features,
      s.mode,
      s.namespace,
      s.serviceNamespace,
      s.ingressHost,
      s.strict,
    ]),
    ref: o.direktivRef,
    cluster: [o.clusterName, o.httpPort, o.httpsPort],
    capture: o.capture,
    keep: [o.keep, o.keepOnFailure],
  });
  assert.equal(key(again), key(b.options as ReturnType<typeof parseE2eArgs>));
});

test('paths inside the project are printed relative to it (run from the checkout)', async () => {
  const base = join(projectRoot, '.cache', `bundle-test-${process.pid}`);
  try {
    const out = join(base, 'out', 'plain');
    const { command } = await writeBundle(input(['--profile', 'plain', '--output', out]));
    const r = relative(projectRoot, out);
    assert.match(command, ` --output ${r}-replay`);
    assert.is(json(join(out, 'repro')).replay.viaBundle, `npm run e2e -- --replay ${r}/repro`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('readBundle: run.json back into options (the --replay path), seed included', async () => {
  const out = join(scratch, 'replay-run');
  const b = input(
    [
      '--profiles',
      'grpc-tls,full-mtls',
      '--strict',
      '--output',
      out,
      '--knative-image',
      'ghcr.io/x/echo:1.0',
    ],
    { seed: 'ns-42' },
  );
  const { dir } = await writeBundle(b);
  const o = readBundle(dir);
  assert.equal(
    o.scenarios.map((s) => [s.name, s.strict]),
    [
      ['grpc-tls', false],
      ['full-mtls', true],
    ],
  );
  assert.is(o.direktivRef, direktivPin.ref, 'no ref given: the pin at run time is made explicit');
  assert.is(o.knativeImage, 'ghcr.io/x/echo:1.0');
  assert.is(o.output, `${out}-replay`);
  assert.is(o.seed, 'ns-42');
  assert.is(o.bundle, dir);
  assert.is(o.recorded.run.direktivRefGiven, false);
  assert.is(o.replay, null, 'the replayed options do not replay again');
});

test('a custom feature set replays as --features', async () => {
  const out = join(scratch, 'features-run');
  const { dir, command } = await writeBundle(input(['--features', 'ingress,services', '--output', out]));
  assert.match(command, '--features ingress,services');
  assert.equal(readBundle(dir).scenarios[0]?.features, ['ingress', 'services']);
});

test('--chart: the chart is copied in (no .git, no key files) and found wherever the bundle moves', async () => {
  const chart = join(scratch, 'my-chart');
  cpSync('test/fixtures/charts/direktiv-like', chart, { recursive: true });
  mkdirSync(join(chart, '.git'));
  writeFileSync(join(chart, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(chart, 'test-server.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(chart, 'notes.txt'), `dev key:\n${privateKey.export({ type: 'sec1', format: 'pem' })}`);
  const out = join(scratch, 'chart-run');
  const { dir, command } = await writeBundle(
    input(['--profile', 'grpc-tls', '--chart', chart, '--output', out]),
  );
  assert.ok(existsSync(join(dir, 'chart', 'Chart.yaml')));
  assert.ok(existsSync(join(dir, 'chart', 'templates', 'api.yaml')));
  assert.not.ok(existsSync(join(dir, 'chart', '.git')));
  assert.not.ok(existsSync(join(dir, 'chart', 'test-server.key')));
  assert.not.ok(existsSync(join(dir, 'chart', 'notes.txt')));
  assert.equal(json(dir).run.chart?.skipped.sort(), ['notes.txt', 'test-server.key']);
  assert.match(command, `--chart ${join(dir, 'chart')}`);
  assert.not.match(command, '--direktiv-ref');
  // Moved (an artifact downloaded elsewhere): --replay still finds the copied chart.
  const moved = join(scratch, 'downloaded', 'repro');
  cpSync(dir, moved, { recursive: true });
  const o = readBundle(moved);
  assert.is(o.chart, join(moved, 'chart'));
  assert.ok(existsSync(join(o.chart as string, 'Chart.yaml')));
});

test('the values and kind config the run wrote are the ones bundled', async () => {
  const out = join(scratch, 'written-run');
  mkdirSync(join(out, 'grpc-mtls'), { recursive: true });
  writeFileSync(
    join(out, 'grpc-mtls', 'direktiv-values.yaml'),
    '# as installed\nflow:\n  functionsProtocol: http\n',
  );
  writeFileSync(join(out, 'kind-cluster.yaml'), '# as created\nkind: Cluster\n');
  const { dir } = await writeBundle(input(['--profile', 'grpc-mtls', '--output', out]));
  assert.is(
    readFileSync(join(dir, 'direktiv-values/grpc-mtls.yaml'), 'utf8'),
    '# as installed\nflow:\n  functionsProtocol: http\n',
  );
  assert.is(readFileSync(join(dir, 'kind-cluster.yaml'), 'utf8'), '# as created\nkind: Cluster\n');
  assert.not.match(readFileSync(join(dir, 'README.md'), 'utf8'), 'Regenerated');
});

test('no private key enters the bundle, whatever the plan or the failure quotes', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const b64 = Buffer.from(pem).toString('base64');
  const out = join(scratch, 'leaky-run');
  const b = input(['--profile', 'full-mtls', '--output', out], {
    failure: { step: 'profile.apply', message: `apply failed for Secret:\n${pem}` },
  });
  b.plan.steps.push({
    id: 'debug.secret',
    phase: 'profile',
    title: 'a step that quotes a Secret',
    commands: [`kubectl apply -f - <<EOF\ndata:\n  tls.key: ${b64}\nEOF`, `echo '${pem}'`],
  });
  const { dir } = await writeBundle(b);
  for (const f of await bundleFiles(dir)) {
    const text = readFileSync(join(dir, f), 'utf8');
    assert.not.ok(holdsPrivateKey(text), `${f} holds a private key`);
    assert.not.match(text, b64.slice(0, 40), `${f} holds the base64 key`);
    assert.not.match(text, 'PRIVATE KEY-----', f);
  }
  const r = json(dir);
  assert.ok(r.redactions >= 4, `redactions: ${r.redactions}`);
  assert.match(
    r.failure?.message ?? '',
    'apply failed for Secret:\n[private key removed by the reproduction bundle]',
  );
});

test('readBundle: bad bundles are bad input (exit 2) naming the file and the field, with what to do', () => {
  const none = join(scratch, 'no-bundle');
  mkdirSync(none, { recursive: true });
  assert.throws(
    () => readBundle(none),
    (e: unknown) => e instanceof UsageError && /no run\.json there/.test((e as Error).message),
  );
  writeFileSync(join(none, 'run.json'), '{ not json');
  assert.throws(
    () => readBundle(none),
    (e: unknown) => e instanceof BadInputError && /run\.json: not JSON/.test((e as Error).message),
  );
  writeFileSync(join(none, 'run.json'), JSON.stringify({ bundleVersion: 99, replay: { argv: [] } }));
  assert.throws(
    () => readBundle(none),
    (e: unknown) =>
      e instanceof BadInputError &&
      /run\.json: bundleVersion: bundle version 99 is not 1/.test((e as Error).message),
  );
  writeFileSync(
    join(none, 'run.json'),
    JSON.stringify({ bundleVersion: 1, replay: { argv: ['--profile', 7] }, run: {} }),
  );
  assert.throws(
    () => readBundle(none),
    (e: unknown) =>
      e instanceof BadInputError &&
      /run\.json: replay\.argv\[1\]: expected a string, got number/.test((e as Error).message),
  );
  writeFileSync(
    join(none, 'run.json'),
    JSON.stringify({ bundleVersion: 1, replay: { argv: ['--profile', 'nope'] }, run: {} }),
  );
  assert.throws(
    () => readBundle(none),
    (e: unknown) =>
      e instanceof BadInputError &&
      /run\.json: replay\.argv: unknown profile 'nope'/.test((e as Error).message),
  );
});

test('shell quoting round-trips awkward arguments', () => {
  const args = [
    '--output',
    'out/a b',
    "it's",
    '$HOME',
    '',
    'a"b',
    'plain-1.2:3,4',
    'back\\slash',
    'new\nline',
  ];
  assert.equal(shellSplit(shellJoin(args)), args);
  assert.is(shellQuote('out/full-mtls'), 'out/full-mtls');
  assert.is(shellQuote('a b'), "'a b'");
  assert.equal(shellSplit(`npm run e2e -- --x "a \\"q\\" b" c\\ d`), [
    'npm',
    'run',
    'e2e',
    '--',
    '--x',
    'a "q" b',
    'c d',
  ]);
  assert.throws(() => shellSplit("'open"), /unterminated single quote/);
});

test('redaction: PEM blocks and key fields go, certificates stay', () => {
  const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  const key = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----';
  const r = redactSecrets(`${cert}\n${key}\n"tls.key": "QUJDREVGR0hJSktMTU5PUFFSU1RVVg=="`);
  assert.is(r.removed, 2);
  assert.match(r.text, cert);
  assert.not.ok(holdsPrivateKey(r.text));
});

test('replayArgv needs a scenario', () => {
  const o = parseE2eArgs(['--profile', 'plain']);
  assert.throws(() => replayArgv({ ...o, scenarios: [] }, { cwd: projectRoot }), /no scenario/);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
