/** Debian's chromium (package `chromium`, installed by .ci/run) driven by playwright-core, for pages the CLI writes. */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** The reason to skip a browser check, or false when the browser is there. */
export const SKIP_BROWSER = existsSync(CHROMIUM) ? false : `no browser: ${CHROMIUM} is absent (Debian package chromium; .ci/run installs it)`;

export interface Visit<T> {
  /** What `read` returned. */
  result: T;
  /** Console errors and warnings, uncaught page errors, dialogs (e.g. an alert run by injected script). */
  problems: string[];
  /** Every URL the page requested, the page itself included. */
  requests: string[];
}

/** Open a local file in headless chromium, let `read` look at it, and report what the page did. */
export async function visitFile<T>(file: string, read: (page: Page) => Promise<T>, viewport = { width: 1200, height: 900 }): Promise<Visit<T>> {
  // Playwright starts chromium without its sandbox unless told otherwise (chromiumSandbox: false),
  // which it needs here: the tests run as root, where chromium's sandbox refuses to start.
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const problems: string[] = [];
  const requests: string[] = [];
  try {
    const page = await browser.newPage({ viewport });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog ${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const result = await read(page);
    return { result, problems, requests };
  } finally {
    await browser.close();
  }
}

/** An attribute of every element a locator matches, in page order. */
export async function attributeOfAll(all: Locator, name: string): Promise<Array<string | null>> {
  return Promise.all(Array.from({ length: await all.count() }, (_, k) => all.nth(k).getAttribute(name)));
}
