// lab --capture with a REAL tcpdump on lo: the real clients' traffic is captured, classified,
// attributed to its path and judged in the same report as the probes. Needs tcpdump and root (or
// CAP_NET_RAW+CAP_NET_ADMIN): CI runs as root and installs tcpdump. Every wait is bounded; every
// tcpdump started here is checked to be gone afterwards.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, PATH_IDS, type PathId } from '../../scenarios/index.ts';
import { analyzeCaptureFile } from '../../scripts/lib/capture/analyze.ts';
import { attributeFlows, passiveEvidence } from '../../scripts/lib/capture/attribute.ts';
import { PLAINTEXT_CLASSES } from '../../scripts/lib/capture/classify.ts';
import { judgePassive } from '../../scripts/lib/capture/judge.ts';
import type { FlowSummary } from '../../scripts/lib/evidence/types.ts';
import { captureFilter, captureRealClients, labListeners } from '../../scripts/lib/lab/capture.ts';
import { type LabCliDeps, labCli, pcapFileFor } from '../../scripts/lib/lab/cli.ts';
import { runLab, startLab } from '../../scripts/lib/lab/lab.ts';
import type { RunReport } from '../../scripts/lib/report/types.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';
import type { PathVerdict } from '../../scripts/lib/verdict/verdict.ts';

const dir = mkdtempSync(join(tmpdir(), 'lab-capture-test-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Every tcpdump this file started: none may outlive its run. */
const started: number[] = [];
const onListening = (i: { pid: number }) => started.push(i.pid);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (const until = Date.now() + 2000; Date.now() < until; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

async function run(args: string[], deps: LabCliDeps = {}) {
  let out = '';
  let err = '';
  const code = await labCli(
    args,
    { stdout: (s) => (out += s), stderr: (s) => (err += s) },
    { helm: testHelm, capture: { onListening }, ...deps },
  );
  return { code, out, err };
}

const passive = (v: PathVerdict) => v.judgements.find((j) => j.kind === 'passive');

test('plain --capture: plaintext on every path, seen passively (the detector fires), in the same report', async () => {
  const json = join(dir, 'plain.json');
  const pcap = join(dir, 'plain.pcap');
  const r = await run(['--profile', 'plain', '--capture', '--pcap', pcap, '--json', json]);
  assert.is(r.code, 0, r.err + r.out);
  const report = JSON.parse(readFileSync(json, 'utf8')) as RunReport;
  const res = report.results[0]!;
  for (const v of res.verdicts) {
    assert.equal(v.basis, ['passive', 'active'], v.path);
    const ev = v.evidence.passive!;
    assert.ok(ev.plaintextFlows >= 1, `${v.path}: ${passive(v)?.reason}`);
    assert.is(ev.tlsFlows, 0, v.path);
    assert.ok(
      ev.flows.every((f) => PLAINTEXT_CLASSES.has(f.class)),
      `${v.path}: ${ev.flows.map((f) => f.class)}`,
    );
    assert.ok(passive(v)?.ok, v.path);
    assert.match(passive(v)!.reason, /^plaintext seen as expected: \d+ flows?, \d+ bytes in clear/);
  }
  const c = res.capture!;
  assert.is(c.driver, 'tcpdump on lo');
  assert.equal(c.unattributed, []);
  assert.equal(c.exempt, []);
  assert.is(c.droppedByKernel, 0);
  assert.is(c.file, pcap);
  // The kept file is the capture the verdicts were judged on.
  assert.is(analyzeCaptureFile(pcap).flows.length, c.flows);
  assert.is(
    c.flows,
    res.verdicts.reduce((n, v) => n + v.evidence.passive!.flows.length, 0),
  );
  // The terminal report shows the passive judgement of every path.
  assert.match(r.out, /Passive capture \(the real clients' calls only/);
  for (const id of PATH_IDS) {
    assert.ok(r.out.includes(`✓ ${id}: plaintext seen as expected`), id);
  }
  assert.match(r.out, /10 rest on passive\+active/);
});

test("full-mtls --capture: zero plaintext and a TLS flow on every path; the probes' plaintext dials are not in it", async () => {
  const json = join(dir, 'full.json');
  const junit = join(dir, 'full.xml');
  const md = join(dir, 'full.md');
  const r = await run([
    '--profile',
    'full-mtls',
    '--capture',
    '--json',
    json,
    '--junit',
    junit,
    '--markdown',
    md,
  ]);
  assert.is(r.code, 0, r.err + r.out);
  const res = (JSON.parse(readFileSync(json, 'utf8')) as RunReport).results[0]!;
  assert.is(res.verdicts.length, PATH_IDS.length, 'every path is non-exempt and judged');
  for (const v of res.verdicts) {
    const ev = v.evidence.passive!;
    assert.ok(passive(v)?.ok, `${v.path}: ${passive(v)?.reason}`);
    assert.is(ev.plaintextFlows, 0, v.path);
    assert.is(ev.plaintextBytes, 0, v.path);
    assert.ok(ev.tlsFlows >= 1, v.path);
    // One connection per real client: the probes' dials (plaintext ones included) came later.
    assert.is(ev.flows.length, 1, `${v.path}: ${ev.flows.map((f) => f.class)}`);
    assert.is(ev.flows[0]!.sni, v.evidence.active!.target.serverName, v.path);
    const refused = v.evidence.active!.facts.plaintext.filter((p) => p.outcome !== 'served');
    assert.ok(refused.length >= 1, `${v.path}: the probe did dial in plaintext (and was refused)`);
  }
  assert.equal(res.capture!.unattributed, []);
  assert.match(r.out, /RESULT: PASS/);
  // JUnit (well formed) and Markdown carry the passive evidence beside the active one.
  const doc = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    isArray: (n) => ['testsuite', 'testcase', 'property'].includes(n),
  }).parse(readFileSync(junit, 'utf8'), true);
  const suite = doc.testsuites.testsuite[0];
  const props = suite.properties.property as Array<Record<string, string>>;
  assert.match(props.find((p) => p['@_name'] === 'capture')?.['@_value'] ?? '', /^tcpdump on lo: 10 flows/);
  const engine = (suite.testcase as Array<Record<string, string>>).find(
    (c) => c['@_name'] === 'full-mtls/api->engine',
  )!;
  assert.match(engine['system-out']!, /passive: pass: 1 TLS flow \(TLS 1\.\d\), zero plaintext/);
  assert.match(
    engine['system-out']!,
    /flow 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ tls \(TLS 1\.\d, SNI direktiv-ingress-hl\.default, ALPN h2\), 0 bytes in clear/,
  );
  const markdown = readFileSync(md, 'utf8');
  assert.match(markdown, /#### Passive capture/);
  assert.match(markdown, /✅ `api-&gt;engine`: 1 TLS flow/);
});

test('a planted plaintext server fails its path on passive evidence too, and only that path', async () => {
  for (const [profile, path, phrase] of [
    ['full-mtls', 'api->engine', /neither TLS nor recognised plaintext.*no TLS flow captured/],
    ['upstream-tls', 'ingress->api', /1 plaintext flow \(\d+ bytes in clear\).*HTTP\/1 status 400/],
  ] as const) {
    const r = await runLab(buildScenario({ profile }), {
      helm: testHelm,
      mutate: `plaintext-server@${path}`,
      capture: { onListening },
    });
    const failing = r.verdicts.filter((v) => !v.ok).map((v) => v.path);
    assert.equal(failing, [path], `${profile}`);
    const v = r.verdicts.find((x) => x.path === path)!;
    const j = passive(v)!;
    assert.not.ok(j.ok, `${profile}/${path}: the passive judge alone fails it`);
    assert.match(j.reason, phrase);
    assert.match(v.reason, /^passive: /);
    for (const other of r.verdicts.filter((x) => x.path !== path)) {
      assert.ok(passive(other)?.ok, `${profile}/${other.path}: ${passive(other)?.reason}`);
    }
  }
});

test('tcpdump missing: exit 3 with the install command, no report', async () => {
  const r = await run(['--profile', 'plain', '--capture'], {
    capture: { tcpdumpPath: '/nonexistent/tcpdump' },
  });
  assert.is(r.code, 3);
  assert.match(r.err, /--capture: tcpdump not found/);
  assert.match(r.err, /apt-get install tcpdump/);
  assert.is(r.out, '');
});

test('tcpdump not permitted (run as nobody): exit 3 naming root or CAP_NET_RAW', async () => {
  const r = await run(['--profile', 'plain', '--capture'], { capture: { uid: 65534, gid: 65534 } });
  assert.is(r.code, 3, r.err);
  assert.match(r.err, /--capture: .*not permitted|--capture: cannot run/);
  assert.match(r.err, /root or CAP_NET_RAW/);
  assert.is(r.out, '');
});

test('tcpdump is stopped and its scratch folder removed when the run fails midway', async () => {
  const lab = await startLab(buildScenario({ profile: 'plain' }), { helm: testHelm });
  let info: { pid: number; file: string } | undefined;
  try {
    let error: Error | undefined;
    try {
      await captureRealClients(lab, { onListening: (i) => (info = i) }, () =>
        Promise.reject(new Error('boom in the real-client phase')),
      );
    } catch (e) {
      error = e as Error;
    }
    assert.match(error?.message ?? '', 'boom in the real-client phase');
  } finally {
    await lab.stop();
  }
  assert.ok(info, 'tcpdump had started');
  assert.ok(await gone(info.pid), `tcpdump ${info.pid} still runs`);
  assert.not.ok(existsSync(dirname(info.file)), 'scratch folder removed');
});

test('no tcpdump started by these runs is left running', async () => {
  assert.ok(started.length >= 4, `captures started: ${started.length}`);
  for (const pid of started) assert.ok(await gone(pid), `tcpdump ${pid} still runs`);
});

test("the lab's port map: every listener names one path; other ports are reported unattributed", async () => {
  const lab = await startLab(buildScenario({ profile: 'full-mtls' }), { helm: testHelm });
  try {
    const ls = labListeners(lab);
    assert.is(new Set(ls.map((l) => l.port)).size, ls.length, 'ports are distinct');
    assert.equal(
      ls.filter((l) => l.path === 'client->ingress').map((l) => l.standsFor),
      [443, 80],
    );
    assert.equal(ls.find((l) => l.path === 'api->engine')?.standsFor, 6666);
    assert.match(captureFilter(ls.map((l) => l.port)), /^tcp and \(port \d+( or port \d+){11}\)$/);
    const ports = new Map(ls.map((l) => [l.port, l.path] as [number, PathId]));
    const f = (port: number): FlowSummary => ({
      client: '127.0.0.1:50000',
      server: `127.0.0.1:${port}`,
      serverPort: port,
      class: 'tls',
      bytesClientToServer: 1,
      bytesServerToClient: 1,
      plaintextBytes: 0,
    });
    const engine = lab.endpoints['api->engine'].target.port;
    // 6666 is the real port, not a lab listener: with an exact map it fits no path.
    const attr = attributeFlows([f(engine), f(6666), f(5432)], { ports });
    assert.equal(attr.byPath['api->engine'], [f(engine)]);
    assert.is(attr.unattributed.length, 1);
    assert.match(attr.unattributed[0]!.reason, /no path uses server port 6666 \(not one of the mapped/);
    assert.equal(
      attr.exempt.map((e) => e.id),
      ['engine->postgres'],
    );
  } finally {
    await lab.stop();
  }
});

test("https in the lab: a redirect-only flow on the lab's TLS port is plaintext, on its plain port allowed", () => {
  const redirect = (port: number): FlowSummary => ({
    client: '127.0.0.1:50001',
    server: `127.0.0.1:${port}`,
    serverPort: port,
    class: 'http1',
    bytesClientToServer: 80,
    bytesServerToClient: 120,
    plaintextBytes: 200,
    httpStatuses: [301],
    httpsRedirectOnly: true,
  });
  const tls: FlowSummary = { ...redirect(41000), class: 'tls', plaintextBytes: 0, tlsVersion: 'TLS 1.3' };
  const ports = new Map<number, PathId>([
    [41000, 'client->ingress'],
    [41001, 'client->ingress'],
  ]);
  for (const [port, ok] of [
    [41001, true],
    [41000, false],
  ] as const) {
    const ev = passiveEvidence(attributeFlows([tls, redirect(port)], { ports }), 'client->ingress');
    ev.tlsPort = 41000;
    assert.is(judgePassive('https', ev).ok, ok, `redirect on ${port}`);
  }
});

test('--pcap with several profiles: one file per profile', () => {
  assert.is(pcapFileFor('/x/run.pcap', 'plain', false), '/x/run.pcap');
  assert.is(pcapFileFor('/x/run.pcap', 'full-mtls', true), '/x/run-full-mtls.pcap');
  assert.is(pcapFileFor('/x/run', 'plain', true), '/x/run-plain.pcap');
});

test.run();
