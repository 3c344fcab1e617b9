// npm run bench:html: the HTML report of a ladder run (every profile, lab) against its budgets:
// under 2 MB, and open in Debian's chromium in under a second. Measures the size, the time to
// draw it (ELK layout included), and the time chromium takes to load and first paint it.
//   --iterations <n>  page loads after one warm-up load (default 5)
//   --out <file>      keep the HTML (default out/bench-ladder.html)
//   --json            machine-readable output
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../scenarios/errors.ts';
import { buildScenario, PROFILE_NAMES } from '../scenarios/index.ts';
import { parseCli } from './lib/cli/args.ts';
import { runMain } from './lib/cli/main.ts';
import { runLab } from './lib/lab/lab.ts';
import { launchChromium, reportPage } from './lib/report/chromium.ts';
import { renderHtml } from './lib/report/html.ts';
import { buildReport, type ProfileResult } from './lib/report/types.ts';

const SIZE_BUDGET = 2 * 1024 * 1024;
const OPEN_BUDGET_MS = 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Navigation timings the page itself reports, in ms from the start of the navigation. */
const TIMINGS_IN_PAGE = `(() => {
  const n = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByType('paint').find((p) => p.name === 'first-contentful-paint');
  return { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd, firstContentfulPaint: paint ? paint.startTime : null };
})()`;

async function main(): Promise<number> {
  const { values } = parseCli(process.argv.slice(2), {
    iterations: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  });
  const iterations = values.iterations ? Number(values.iterations) : 5;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 50) {
    throw new UsageError(`--iterations must be 1-50 (got '${values.iterations}')`, 'e.g. --iterations 5');
  }
  const file = resolve(values.out ?? 'out/bench-ladder.html');
  mkdirSync(dirname(file), { recursive: true });

  const results: ProfileResult[] = [];
  for (const profile of PROFILE_NAMES) results.push(await runLab(buildScenario({ profile })));
  const report = buildReport(results);
  let t = performance.now();
  const html = await renderHtml(report);
  const drawMs = performance.now() - t;
  writeFileSync(file, html);
  const bytes = Buffer.byteLength(html);

  const browser = await launchChromium();
  const loads: number[] = [];
  const inPage: Array<{ domContentLoaded: number; load: number; firstContentfulPaint: number | null }> = [];
  let requests: string[] = [];
  try {
    for (let i = 0; i <= iterations; i++) {
      const { page, requests: r } = await reportPage(browser);
      t = performance.now();
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const ms = performance.now() - t;
      const timing = (await page.evaluate(TIMINGS_IN_PAGE)) as (typeof inPage)[number];
      requests = r.filter((u) => u !== pathToFileURL(file).href);
      await page.close();
      if (i === 0) continue; // warm-up: the browser's own start-up is not the page's cost
      loads.push(ms);
      inPage.push(timing);
    }
  } finally {
    await browser.close();
  }
  const out = {
    profiles: results.length,
    file,
    bytes,
    sizeBudgetBytes: SIZE_BUDGET,
    drawMs: Math.round(drawMs),
    iterations,
    openMsMedian: Math.round(median(loads)),
    loadEventMsMedian: Math.round(median(inPage.map((x) => x.load))),
    firstContentfulPaintMsMedian: Math.round(median(inPage.map((x) => x.firstContentfulPaint ?? Number.NaN))),
    openBudgetMs: OPEN_BUDGET_MS,
    networkRequests: requests,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else {
    const mb = (bytes / 1024 / 1024).toFixed(2);
    process.stdout.write(
      [
        `HTML report of a ladder run (${out.profiles} profiles, lab): ${file}`,
        `  size            ${bytes} bytes (${mb} MiB)   budget < 2 MiB: ${bytes < SIZE_BUDGET ? 'ok' : 'OVER'}`,
        `  draw            ${out.drawMs} ms (diagram model, ELK layout, SVG and HTML)`,
        `  open (chromium) ${out.openMsMedian} ms median of ${iterations} (goto to load event)   budget < 1 s: ${
          out.openMsMedian < OPEN_BUDGET_MS ? 'ok' : 'OVER'
        }`,
        `  in the page     load event ${out.loadEventMsMedian} ms, first contentful paint ${out.firstContentfulPaintMsMedian} ms`,
        `  network         ${requests.length ? requests.join(', ') : 'no request beyond the file itself'}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}

await runMain(main);
