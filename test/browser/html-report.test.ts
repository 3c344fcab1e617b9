// The HTML report in a real browser (Debian's chromium via playwright-core): lab runs of plain
// and full-mtls, and full-mtls with a planted flaw. Every path of the model has an arrow, each
// arrow has the colour of its verdict in the JSON, hover and keyboard focus show the evidence,
// labels do not overlap, and the page loads nothing from the network. Screenshots go to
// out/browser/ (test artefacts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildScenario, EXEMPTIONS, PATH_IDS, type PathId } from '../../scenarios/index.ts';
import { runLab } from '../../scripts/lib/lab/lab.ts';
import { ARROW_STYLES, arrowClass } from '../../scripts/lib/report/arrow-style.ts';
import { launchChromium, reportPage } from '../../scripts/lib/report/chromium.ts';
import { evidenceDomId, type HtmlReport, renderHtml } from '../../scripts/lib/report/html.ts';
import { parseReport } from '../../scripts/lib/report/load.ts';
import { renderJson, renderMarkdown } from '../../scripts/lib/report/render.ts';
import { buildReport } from '../../scripts/lib/report/types.ts';
import { testHelm } from '../../scripts/lib/tools/test-helm.ts';

const OUT = resolve('out/browser');
mkdirSync(OUT, { recursive: true });
/** The flaw a removed certificate key makes: the API serves plaintext where TLS is expected. */
const FLAW = 'plaintext-server@ingress->api';

let browser: Browser;
const reports = new Map<string, HtmlReport>();
const files = new Map<string, string>();

/** A lab run, saved as JSON and read back (the HTML is drawn from what a saved report holds). */
async function labReport(name: string, profile: string, mutate?: string): Promise<void> {
  const r = await runLab(buildScenario({ profile }), { helm: testHelm, ...(mutate ? { mutate } : {}) });
  const json = renderJson(buildReport([r]));
  writeFileSync(join(OUT, `${name}.json`), json);
  const report = parseReport(json);
  const file = join(OUT, `${name}.html`);
  writeFileSync(file, await renderHtml(report));
  reports.set(name, report);
  files.set(name, file);
}

function rgb(hex: string): string {
  const n = (i: number) => Number.parseInt(hex.slice(i, i + 2), 16);
  return `rgb(${n(1)}, ${n(3)}, ${n(5)})`;
}

async function open(name: string): Promise<{ page: Page; requests: string[]; url: string }> {
  const { page, requests } = await reportPage(browser);
  const url = pathToFileURL(files.get(name)!).href;
  await page.goto(url, { waitUntil: 'load' });
  return { page, requests, url };
}

/** Arrow class and stroke colour of every path, as the browser renders them. */
async function arrows(page: Page): Promise<Map<string, { cls: string; stroke: string; count: number }>> {
  const list = (await page.evaluate(ARROWS_IN_PAGE)) as Array<{ path: string; cls: string; stroke: string }>;
  const m = new Map<string, { cls: string; stroke: string; count: number }>();
  for (const a of list) m.set(a.path, { ...a, count: (m.get(a.path)?.count ?? 0) + 1 });
  return m;
}

// Code run in the page is given as text: the test's bundler adds helpers to named functions that
// do not exist in the browser, and the project's type check has no DOM library.
const ARROWS_IN_PAGE = `[...document.querySelectorAll('section.profile a.edge[data-path]')].map((e) => ({
  path: e.getAttribute('data-path'),
  cls: e.getAttribute('data-class'),
  stroke: getComputedStyle(e.querySelector('path.line')).stroke,
}))`;
const BOXES_IN_PAGE = `[...document.querySelectorAll('svg.topology')].flatMap((svg) =>
  [
    ['label', '.edge text.label'],
    ['namespace', '.ns text'],
    ['box', '.node rect'],
  ].flatMap(([kind, sel]) =>
    [...svg.querySelectorAll(sel)].map((e) => {
      const b = e.getBoundingClientRect();
      return { kind, text: e.textContent || '', x: b.x, y: b.y, w: b.width, h: b.height };
    }),
  ),
)`;

async function diagramShot(page: Page, file: string): Promise<void> {
  await page.evaluate(`document.querySelector('.diagram').scrollIntoView({ block: 'start' })`);
  await page.screenshot({ path: join(OUT, file) });
}

test.before(async () => {
  browser = await launchChromium();
  await labReport('plain', 'plain');
  await labReport('full-mtls', 'full-mtls');
  await labReport('full-mtls-flaw', 'full-mtls', FLAW);
});

test.after(async () => {
  await browser?.close();
});

for (const name of ['plain', 'full-mtls']) {
  test(`${name}: an arrow for every path and exempt hop, coloured by its verdict in the JSON`, async () => {
    const { page, requests, url } = await open(name);
    const report = reports.get(name)!;
    const seen = await arrows(page);
    for (const id of PATH_IDS) {
      const a = seen.get(id);
      assert.ok(a, `${id} has an arrow`);
      assert.is(a.count, 1, `${id}: one arrow`);
      const v = report.results[0]!.verdicts.find((x) => x.path === id);
      const cls = arrowClass(v);
      assert.is(a.cls, cls, `${id} class`);
      assert.is(a.stroke, rgb(ARROW_STYLES[cls].colour), `${id} colour`);
    }
    const exempt = await page.$$eval('a.edge[data-exemption]', (els) =>
      els.map((e) => e.getAttribute('data-exemption')),
    );
    assert.is(
      exempt.length,
      EXEMPTIONS.reduce((n, e) => n + e.hops.length, 0),
    );
    // The heat map says the same as the arrows.
    const cells = await page.$$eval('td.cell', (els) =>
      els.map((e) => [e.getAttribute('data-path'), e.getAttribute('data-class')]),
    );
    for (const [path, cls] of cells) assert.is(cls, seen.get(path!)?.cls, `heat map ${path}`);
    if (name === 'plain')
      assert.ok(
        [...seen.values()].every((a) => a.cls === 'plain'),
        'plain: every arrow grey',
      );
    else {
      assert.is(seen.get('api->engine')!.cls, 'mtls');
      assert.is(seen.get('ingress->api')!.cls, 'tls');
      assert.is(seen.get('engine->knative')!.cls, 'warn', 'port 80 still open: a warning');
    }
    await diagramShot(page, `${name}.png`);
    await page.screenshot({ path: join(OUT, `${name}-full.png`), fullPage: true });
    assert.equal(
      requests.filter((u) => u !== url),
      [],
      'the page requests nothing but itself',
    );
    await page.close();
  });
}

test('hover and keyboard focus show the evidence of the arrow', async () => {
  const { page } = await open('full-mtls');
  const report = reports.get('full-mtls')!;
  const key = await page.$eval('section.profile', (e) => e.id);
  assert.is(await page.locator('.ev:visible').count(), 0, 'no evidence before a hover');
  for (const id of ['api->engine', 'client->ingress', 'engine->knative'] as PathId[]) {
    const v = report.results[0]!.verdicts.find((x) => x.path === id)!;
    const ev = page.locator(`#${evidenceDomId(key, `path:${id}`)}`);
    assert.not.ok(await ev.isVisible(), `${id}: hidden before`);
    const label = page.locator(`a.edge[data-path="${id}"] text.label`);
    await label.hover();
    assert.ok(await ev.isVisible(), `${id}: hover shows the evidence`);
    assert.is(await page.locator('.ev:visible').count(), 1, `${id}: only its evidence`);
    const [l, p] = [(await label.boundingBox())!, (await ev.boundingBox())!];
    const covers = l.x < p.x + p.width && p.x < l.x + l.width && l.y < p.y + p.height && p.y < l.y + l.height;
    assert.not.ok(covers, `${id}: the panel leaves the arrow's label in sight`);
    const text = ((await ev.textContent()) ?? '').replace(/\s+/g, ' ');
    assert.ok(text.includes('Probe answers'), `${id}: probe answers`);
    for (const c of v.evidence.active?.checks ?? [])
      assert.ok(text.includes(c.name), `${id}: check ${c.name}`);
    assert.ok(text.includes(v.evidence.active!.target.serverName), `${id}: the dialled name`);
    if (id === 'api->engine') await page.screenshot({ path: join(OUT, 'full-mtls-hover.png') });
    await page.mouse.move(2, 2);
    assert.not.ok(await ev.isVisible(), `${id}: hidden again`);
    await page.locator(`a.edge[data-path="${id}"]`).focus();
    assert.ok(await ev.isVisible(), `${id}: keyboard focus shows the evidence`);
    await page.locator('h1').click();
  }
  // A heat-map cell links to its arrow, and the linked arrow shows its evidence.
  await page.locator('td.cell[data-path="engine->pod"] a').click();
  assert.ok(
    await page.locator(`#${evidenceDomId(key, 'path:engine->pod')}`).isVisible(),
    'cell link shows evidence',
  );
  assert.match(page.url(), /#.*-edge-path-engine-to-pod$/);
  await page.close();
});

type Rect = { kind: string; text: string; x: number; y: number; w: number; h: number };

/** Pairs of a text (arrow label, namespace name) and a text or box that overlap on screen. */
async function overlaps(page: Page): Promise<string[]> {
  const boxes = (await page.evaluate(BOXES_IN_PAGE)) as Rect[];
  const hit = (a: Rect, b: Rect) =>
    a.x < b.x + b.w - 1 && b.x < a.x + a.w - 1 && a.y < b.y + b.h - 1 && b.y < a.y + a.h - 1;
  const texts = boxes.filter((b) => b.kind !== 'box');
  const found: string[] = [];
  for (let i = 0; i < texts.length; i++) {
    for (const b of [...texts.slice(i + 1), ...boxes.filter((x) => x.kind === 'box')]) {
      if (hit(texts[i]!, b)) found.push(`"${texts[i]!.text}" overlaps "${b.text || b.kind}"`);
    }
  }
  if (texts.length < 20) found.push(`only ${texts.length} labels measured`);
  return found;
}

test('labels overlap neither each other nor the boxes', async () => {
  for (const name of ['plain', 'full-mtls', 'full-mtls-flaw']) {
    const { page } = await open(name);
    assert.equal(await overlaps(page), [], name);
    if (name === 'plain') {
      // The detector fires: one label moved onto another is an overlap.
      await page.evaluate(`(() => {
        const [a, b] = document.querySelectorAll('.edge text.label');
        a.setAttribute('x', b.getAttribute('x'));
        a.setAttribute('y', b.getAttribute('y'));
      })()`);
      assert.ok((await overlaps(page)).length > 0, 'a planted overlap is found');
    }
    await page.close();
  }
});

test('a planted flaw turns exactly its arrow red; nothing else changes colour', async () => {
  const before = await open('full-mtls');
  const after = await open('full-mtls-flaw');
  const a = await arrows(before.page);
  const b = await arrows(after.page);
  const changed = [...a.keys()].filter((p) => a.get(p)!.stroke !== b.get(p)!.stroke);
  assert.equal(changed, ['ingress->api']);
  assert.is(b.get('ingress->api')!.cls, 'fail');
  assert.is(b.get('ingress->api')!.stroke, rgb(ARROW_STYLES.fail.colour));
  const red = [...b.values()].filter((x) => x.stroke === rgb(ARROW_STYLES.fail.colour));
  assert.is(red.length, 1, 'one red arrow');
  await after.page.locator('a.edge[data-path="ingress->api"] text.label').hover();
  const key = await after.page.$eval('section.profile', (e) => e.id);
  const text = (await after.page.locator(`#${evidenceDomId(key, 'path:ingress->api')}`).textContent()) ?? '';
  assert.match(text, /plaintext/i, 'the evidence says what broke');
  await after.page.screenshot({ path: join(OUT, 'full-mtls-flaw-hover.png') });
  await after.page.mouse.move(2, 2);
  await diagramShot(after.page, 'full-mtls-flaw.png');
  await before.page.close();
  await after.page.close();
});

test('stand-ins, components and blocked steps of a run are shown', async () => {
  // The shape a control-plane run adds: who served and called a path, the programs, blocked steps.
  const report = structuredClone(reports.get('full-mtls')!) as HtmlReport & Record<string, unknown>;
  (report.results[0] as unknown as Record<string, unknown>).actors = {
    'engine->pod': { server: 'stand-in (init-pod replica in the lab)', client: 'real direktiv flow v0.4.1' },
  };
  report.components = [{ name: 'kube-apiserver', version: 'v1.24.17', source: 'k8s.io/kubernetes module' }];
  report.blocked = [{ id: 'full-mtls/knative.install', reason: 'no container runtime here' }];
  const file = join(OUT, 'stand-ins.html');
  writeFileSync(file, await renderHtml(report));
  const { page } = await reportPage(browser);
  await page.goto(pathToFileURL(file).href);
  const standIn = page.locator('g.node.standin');
  assert.is(await standIn.count(), 1, 'one box drawn as a stand-in');
  assert.is(await standIn.getAttribute('data-node'), 'init-pod');
  assert.is(await page.locator('g.node[data-node="engine"].standin').count(), 0, 'the real client is not');
  await page.locator('a.edge[data-path="engine->pod"] text.label').hover();
  const key = await page.$eval('section.profile', (e) => e.id);
  const ev = (await page.locator(`#${evidenceDomId(key, 'path:engine->pod')}`).textContent()) ?? '';
  assert.match(ev, /server: stand-in \(init-pod replica in the lab\), client: real direktiv flow v0\.4\.1/);
  assert.match((await page.locator('table.components').textContent()) ?? '', /kube-apiserver\s*v1\.24\.17/);
  assert.match(
    (await page.locator('ul.blocked').textContent()) ?? '',
    /knative\.install: no container runtime here/,
  );
  await page.close();
});

const MERMAID = resolve('node_modules/mermaid/dist/mermaid.min.js');

test('the Markdown topology is a Mermaid chart Mermaid renders, one link per arrow in its colour', async () => {
  const md = renderMarkdown(reports.get('full-mtls-flaw')!);
  const code = /```mermaid\n([\s\S]*?)\n```/.exec(md)?.[1];
  assert.ok(code, 'a mermaid block');
  const { page, requests } = await reportPage(browser);
  await page.setContent('<!doctype html><body><div id="out"></div></body>');
  // The library comes from node_modules, inlined by the driver: nothing is fetched.
  await page.addScriptTag({ path: MERMAID });
  const svg = (await page.evaluate(`(async () => {
    mermaid.initialize({ startOnLoad: false });
    const { svg } = await mermaid.render('topology', ${JSON.stringify(code)});
    document.getElementById('out').innerHTML = svg;
    return [...document.querySelectorAll('#out path.flowchart-link')].map((p) => p.getAttribute('style') || '');
  })()`)) as string[];
  const edges = code.split('\n').filter((l) => / -->\|| -\.->\|/.test(l)).length;
  assert.is(svg.length, edges, 'one drawn link per arrow');
  const red = svg.filter((st) => st.includes(ARROW_STYLES.fail.colour));
  assert.is(red.length, 1, 'one red link: the planted flaw');
  assert.ok(
    svg.filter((st) => st.includes(ARROW_STYLES.mtls.colour)).length >= 5,
    'the mTLS paths in dark green',
  );
  const labels = await page.locator('#out .edgeLabel').allTextContents();
  assert.ok(
    labels.some((l) => l.includes('8080 HTTP · plain (want tls)')),
    labels.join(' | '),
  );
  await page.locator('#out svg').screenshot({ path: join(OUT, 'markdown-mermaid.png') });
  assert.equal(requests, [], 'mermaid fetched nothing');
  await page.close();
});

test.run();
