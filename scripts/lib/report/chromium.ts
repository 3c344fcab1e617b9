// Debian's chromium driven by playwright-core, for the browser tier and the HTML benchmark:
// headless, no sandbox (CI runs as root), background networking off, and every request the page
// makes recorded, so a test can prove the report loads nothing from the network.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CouldNotRunError } from '../../../scenarios/errors.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new CouldNotRunError(
      `chromium not found at ${CHROMIUM_PATH}`,
      "install Debian's chromium (apt-get install chromium; .ci/run does it) or set CHROMIUM_PATH",
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--disable-features=Translate,OptimizationHints,MediaRouter',
    ],
  });
}

/** A page at 1280x800 that refuses and records every request except the report file itself. */
export async function reportPage(browser: Browser): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    // The report file itself (file:// or its in-memory document) is the one thing allowed.
    if (url.startsWith('file://')) return route.continue();
    return route.abort('blockedbyclient');
  });
  return { page, requests };
}
