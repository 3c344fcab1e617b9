import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PROFILE_NAMES, UsageError } from '../../scenarios/index.ts';
import { type ChartCheckIo, chartCheckMain } from '../../scripts/chart-check.ts';
import type { CheckReport, ProfileReport, Row } from '../../scripts/lib/chart-check/check.ts';
import { FetchError, fetchDirektivChart } from '../../scripts/lib/chart-check/fetch.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

const GOOD = 'test/fixtures/charts/direktiv-like';
const scratch = mkdtempSync(join(tmpdir(), 'chart-check-'));

/** A copy of the good test chart with edits; each edit must apply (or the test proves nothing). */
function variant(name: string, edits: { file: string; from: string | RegExp; to: string }[]): string {
  const dir = join(scratch, name);
  cpSync(GOOD, dir, { recursive: true });
  for (const e of edits) {
    const p = join(dir, 'templates', e.file);
    const before = readFileSync(p, 'utf8');
    const after = before.replace(e.from, e.to);
    assert.is.not(after, before, `edit of ${e.file} in ${name} did not apply`);
    writeFileSync(p, after);
  }
  return dir;
}

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(argv: string[], extra: Partial<ChartCheckIo> = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await chartCheckMain(argv, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    helm: testHelm,
    fetch: async (ref) => {
      throw new FetchError(`no network here (ref ${ref})`, 'give --against');
    },
    ...extra,
  });
  return { code, out, err };
}

async function report(chart: string, more: string[] = []): Promise<{ code: number; r: CheckReport }> {
  const { code, out } = await run(['--chart', chart, '--against', GOOD, '--json', ...more]);
  return { code, r: JSON.parse(out) as CheckReport };
}

function profile(r: CheckReport, name: string): ProfileReport {
  const p = r.profiles.find((x) => x.scenario === name);
  assert.ok(p, `no report for ${name}`);
  return p as ProfileReport;
}

const failing = (p: ProfileReport): Row[] => p.rows.filter((x) => !x.underTest.ok);

test('the good test chart meets every requirement of every profile (exit 0)', async () => {
  const { code, r } = await report(GOOD);
  assert.is(code, 0);
  assert.ok(r.ok);
  assert.equal(
    r.profiles.map((p) => p.scenario),
    [...PROFILE_NAMES],
  );
  for (const p of r.profiles) {
    assert.equal(failing(p), [], `${p.scenario} fails`);
    assert.ok(p.rows.length >= 35, `${p.scenario}: only ${p.rows.length} requirements`);
    for (const row of p.rows) assert.equal(row.against, { ok: true, actual: 'ok' });
  }
  // The requirements grow with the profile: full-mtls adds podca and the services entries.
  const ids = (n: string) => profile(r, n).rows.map((x) => x.id);
  assert.ok(ids('full-mtls').includes('mount:direktiv:ingress:podca'));
  assert.not.ok(ids('grpc-mtls').includes('mount:direktiv:ingress:podca'));
  assert.ok(ids('grpc-tls').includes('mount:direktiv-api:api:functionscerts'));
});

test('a Secret not mounted: the API lacks the functions client mount (grpc profiles fail, exactly there)', async () => {
  const dir = variant('no-api-functions-mount', [
    {
      file: 'api.yaml',
      from: /\n\s*\{\{- include "double.secretMount" \(dict "name" "functionscerts"[^\n]*/,
      to: '',
    },
  ]);
  const { code, r } = await report(dir);
  assert.is(code, 1);
  for (const name of ['plain', 'ingress-tls', 'upstream-tls']) assert.is(profile(r, name).failed, 0, name);
  for (const name of ['grpc-tls', 'grpc-mtls', 'full-mtls']) {
    const p = profile(r, name);
    const rows = failing(p);
    assert.equal(
      rows.map((x) => x.id),
      ['mount:direktiv-api:api:functionscerts'],
      name,
    );
    const row = rows[0] as Row;
    assert.is(row.object, 'Deployment direktiv-api');
    assert.is(
      row.what,
      'mounts Secret direktiv-cert-fn (volume functionscerts) at /etc/direktiv/certs/functions in container api',
    );
    assert.is(row.underTest.actual, 'container api does not mount volume functionscerts');
    assert.ok(row.regression, 'holds in the reference chart: a regression');
    assert.match(row.because, 'functions.certificate (api->functions)');
    assert.is(p.regressions, 1);
  }
});

test('a wrong port: the functions Service on 5556 fails the port and nothing else', async () => {
  const dir = variant('wrong-functions-port', [
    { file: 'services.yaml', from: 'port: 5555', to: 'port: 5556' },
  ]);
  const { code, r } = await report(dir);
  assert.is(code, 1);
  for (const p of r.profiles) {
    assert.equal(
      failing(p).map((x) => [x.id, x.underTest.actual]),
      [['service-port:direktiv-functions-hl:5555', 'ports are 5556']],
      p.scenario,
    );
  }
});

test('a wrong port in the gRPC target: functions-endpoint on another port', async () => {
  const dir = variant('wrong-endpoint-port', [
    { file: 'config.yaml', from: 'functions-hl.{{ $ns }}:5555', to: 'functions-hl.{{ $ns }}:5565' },
  ]);
  const { r } = await report(dir, ['--profile', 'plain']);
  assert.equal(
    failing(profile(r, 'plain')).map((x) => [x.id, x.underTest.actual]),
    [
      [
        'config:direktiv-config-grpc:functions-endpoint',
        'functions-endpoint: dns2:///direktiv-functions-hl.default:5565',
      ],
    ],
  );
});

test('a missing annotation: the API Service without upstream-protocol.tls fails from upstream-tls on', async () => {
  const dir = variant('no-api-upstream-annotation', [
    {
      file: 'services.yaml',
      from: '    projectcontour.io/upstream-protocol.tls: "{{ $n }}-api-service,8080"',
      to: '    example.com/unrelated: "x"',
    },
  ]);
  const { code, r } = await report(dir);
  assert.is(code, 1);
  for (const name of ['plain', 'ingress-tls']) assert.is(profile(r, name).failed, 0, name);
  for (const name of ['upstream-tls', 'grpc-tls', 'grpc-mtls', 'full-mtls']) {
    const rows = failing(profile(r, name));
    assert.equal(
      rows.map((x) => [x.id, x.what, x.underTest.actual]),
      [
        [
          'annotation:direktiv-api-service:projectcontour.io/upstream-protocol.tls',
          'has annotation projectcontour.io/upstream-protocol.tls listing port 8080',
          'annotation missing',
        ],
      ],
      name,
    );
  }
});

test('a missing Ingress redirect annotation and a plain UI probe are reported', async () => {
  const dir = variant('no-redirect-plain-ui-probe', [
    { file: 'ingress.yaml', from: '    ingress.kubernetes.io/force-ssl-redirect: "true"\n', to: '' },
    {
      file: 'ui.yaml',
      from: /\{\{- if ne \$v\.ui\.certificate "none" \}\}\n\s*scheme: HTTPS\n\s*\{\{- end \}\}\n/,
      to: '',
    },
  ]);
  const { r } = await report(dir, ['--profile', 'upstream-tls']);
  assert.equal(
    failing(profile(r, 'upstream-tls')).map((x) => [x.id, x.underTest.actual]),
    [
      ['probe-scheme:ui', 'scheme is HTTP'],
      ['annotation:direktiv-ingress:ingress.kubernetes.io/force-ssl-redirect', 'annotation missing'],
    ],
  );
});

test('a ConfigMap entry that reads the wrong value (the page’s isolates.*) is reported', async () => {
  const dir = variant('functions-tls-from-isolates', [
    {
      file: 'config.yaml',
      from: 'functions-tls: {{ .Values.functions.certificate }}',
      to: 'functions-tls: {{ (.Values.isolates | default dict).certificate | default "none" }}',
    },
  ]);
  const { r } = await report(dir, ['--profile', 'grpc-tls']);
  assert.equal(
    failing(profile(r, 'grpc-tls')).map((x) => [x.id, x.underTest.actual]),
    [['config:direktiv-config-grpc:functions-tls', 'functions-tls: none']],
  );
});

test('a Secret mounted when the profile does not ask for it is reported (the pod would hang)', async () => {
  // The CA volume and mount rendered whatever flow.functionsProtocol says.
  const dir = variant('podca-always', [
    { file: 'flow.yaml', from: /\{\{- if \$https \}\}/g, to: '{{- if true }}' },
    { file: 'flow.yaml', from: /"secret" \$v\.flow\.functionsCA/g, to: '"secret" "direktiv-cert-knative"' },
  ]);
  const { r } = await report(dir, ['--profile', 'grpc-tls']);
  const rows = failing(profile(r, 'grpc-tls'));
  assert.equal(
    rows.map((x) => x.id),
    ['no-other-mounts:direktiv'],
  );
  assert.match(
    rows[0]?.underTest.actual ?? '',
    'also mounts Secret direktiv-cert-knative (volume podca) at /etc/direktiv/certs/ca in container ingress',
  );
});

test('the text report names the object, what was found and why; Markdown is written', async () => {
  const dir = variant('text-report', [{ file: 'services.yaml', from: 'port: 5555', to: 'port: 5556' }]);
  const md = join(scratch, 'out', 'chart-check.md');
  const { code, out } = await run([
    '--chart',
    dir,
    '--against',
    GOOD,
    '--profile',
    'grpc-mtls',
    '--markdown',
    md,
  ]);
  assert.is(code, 1);
  assert.match(
    out,
    'profile grpc-mtls (corrected, namespace default): 1 of 43 requirements fail, 1 regression(s)',
  );
  assert.match(
    out,
    '  FAIL Service direktiv-functions-hl: exposes port 5555\n       found:   ports are 5556\n       REGRESSION: holds in the reference chart',
  );
  assert.match(out, 'because: engine->functions dials direktiv-functions-hl.default:5555');
  assert.match(out, 'grpc-mtls       FAIL (1)        ok');
  const text = readFileSync(md, 'utf8');
  assert.match(text, '| grpc-mtls | 43 | FAIL (1) | ok |');
  assert.match(
    text,
    '| grpc-mtls | Service direktiv-functions-hl | exposes port 5555 | ports are 5556 | ok (regression) |',
  );
});

test('a chart that does not render: exit 1 with helm’s reason', async () => {
  const dir = variant('broken-template', [
    {
      file: 'ui.yaml',
      from: '{{- $v := .Values }}',
      to: '{{- $v := .Values }}\n{{ fail "ui template broken on purpose" }}',
    },
  ]);
  const { code, out } = await run(['--chart', dir, '--against', GOOD, '--profile', 'plain']);
  assert.is(code, 1);
  assert.match(out, 'helm template failed: ui template broken on purpose');
  assert.match(out, 'plain           RENDER FAILED   ok');
});

test('namespace and mode reach the requirements (dns2 targets, as-documented values)', async () => {
  const { code, r } = await report(GOOD, [
    '--namespace',
    'direktiv',
    '--mode',
    'as-documented',
    '--profile',
    'grpc-tls',
  ]);
  assert.is(code, 0);
  const p = profile(r, 'grpc-tls');
  assert.is(p.mode, 'as-documented');
  const row = p.rows.find((x) => x.id === 'config:direktiv-config-grpc:ingress-endpoint');
  assert.is(row?.what, 'ingress-endpoint: dns2:///direktiv-ingress-hl.direktiv:6666');
  // The page's isolates.* leave functions-tls at none: the model says so and the chart agrees.
  assert.is(
    p.rows.find((x) => x.id === 'config:direktiv-config-grpc:functions-tls')?.what,
    'functions-tls: none',
  );
});

test('no reference chart reachable: said on stderr, the chart is still judged', async () => {
  const { code, out, err } = await run(['--chart', GOOD, '--profile', 'plain']);
  assert.is(code, 0);
  assert.match(err, 'no reference chart: no network here (ref v0.4.1) (give --against)');
  assert.match(out, 'against:   direktiv@v0.4.1 (unavailable: no network here');
  assert.match(out, 'plain           ok              -');
});

test('bad input exits 2 with what was wrong', async () => {
  const cases: [string[], RegExp][] = [
    [['--chart', join(scratch, 'nope')], /--chart .*nope: no such directory/],
    [['--chart', 'test/fixtures'], /not a Helm chart \(no Chart\.yaml\)/],
    [['--chart', GOOD, '--direktiv-ref', 'v0.4.0'], /--chart and --direktiv-ref conflict/],
    [['--chart', GOOD, '--profile', 'ful-mtls'], /unknown profile 'ful-mtls'/],
    [['--chart', GOOD, '--profile', 'plain', '--profiles', 'all'], /--profile and --profiles conflict/],
    [['--chart', GOOD, '--mode', 'verbatim'], /unknown mode 'verbatim'/],
    [['--chart', GOOD, '--namespace', 'Bad_NS'], /malformed namespace/],
    [['--charts', GOOD], /charts/],
  ];
  for (const [argv, re] of cases) {
    try {
      await run(argv);
      assert.unreachable(`${argv.join(' ')} was accepted`);
    } catch (e) {
      assert.instance(e, UsageError, `${argv.join(' ')}: ${(e as Error).message}`);
      assert.match((e as Error).message, re);
    }
  }
});

// A local repository standing in for github.com/direktiv/direktiv (no network here).
function fakeDirektivRepo(): { url: string; commit: string } {
  const work = join(scratch, 'repo-work');
  mkdirSync(join(work, 'kubernetes', 'charts'), { recursive: true });
  cpSync(GOOD, join(work, 'kubernetes', 'charts', 'direktiv'), { recursive: true });
  const g = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
      cwd: work,
      encoding: 'utf8',
    }).trim();
  g('init', '--quiet');
  g('add', '.');
  g('commit', '--quiet', '-m', 'chart');
  g('tag', 'v0.4.1-test');
  // GitHub serves a fetch by commit; a local repository needs to be told to.
  g('config', 'uploadpack.allowReachableSHA1InWant', 'true');
  return { url: `file://${work}`, commit: g('rev-parse', 'HEAD') };
}

test('fetch: shallow clone into .cache/direktiv/<ref>, reused, commit verified', async () => {
  const { url, commit } = fakeDirektivRepo();
  const root = join(scratch, 'project');
  const first = await fetchDirektivChart({ ref: 'v0.4.1-test', repository: url, root, expectCommit: commit });
  assert.ok(first.cloned);
  assert.is(first.commit, commit);
  assert.is(
    first.chartDir,
    join(root, '.cache', 'direktiv', 'v0.4.1-test', 'kubernetes', 'charts', 'direktiv'),
  );
  assert.ok(existsSync(join(first.chartDir, 'Chart.yaml')));
  const again = await fetchDirektivChart({ ref: 'v0.4.1-test', repository: url, root, expectCommit: commit });
  assert.not.ok(again.cloned, 'the cached checkout is reused');
  try {
    await fetchDirektivChart({ ref: 'v0.4.1-test', repository: url, root, expectCommit: 'f'.repeat(40) });
    assert.unreachable('a moved ref was accepted');
  } catch (e) {
    assert.instance(e, FetchError);
    assert.match((e as Error).message, `is commit ${commit}, the pin says ffff`);
  }
  try {
    await fetchDirektivChart({ ref: 'v9.9.9', repository: url, root });
    assert.unreachable('a missing ref was accepted');
  } catch (e) {
    assert.instance(e, FetchError);
    assert.match((e as Error).message, `cannot fetch Direktiv v9.9.9 from ${url}`);
    assert.not.ok(existsSync(join(root, '.cache', 'direktiv', 'v9.9.9')), 'no half-finished checkout left');
  }
  // A full commit sha is fetched by sha (clone --branch takes only branches and tags).
  const bySha = await fetchDirektivChart({ ref: commit, repository: url, root });
  assert.ok(bySha.cloned);
  assert.is(bySha.commit, commit);
  assert.ok(existsSync(join(bySha.chartDir, 'Chart.yaml')));
  // --direktiv-ref end to end, through the same fetch.
  const { code, out } = await run(
    ['--direktiv-ref', 'v0.4.1-test', '--against', GOOD, '--profile', 'full-mtls'],
    {
      fetch: (ref) => fetchDirektivChart({ ref, repository: url, root, expectCommit: commit }),
    },
  );
  assert.is(code, 0);
  assert.match(out, `chart-check: direktiv@v0.4.1-test (${commit.slice(0, 12)})`);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
