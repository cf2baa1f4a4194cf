import { expect, type Page } from '@playwright/test';
import { ADMIN_PASSWORD } from '../playwright.config';

/** Waits until the page is interactive: the hydrate entry point marks `<html data-hydrated>` once
 *  event handlers are attached (typing before that is lost), then until the network is quiet. */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true', undefined, { timeout: 30_000 });
  await page.waitForLoadState('networkidle');
}

/** The administrator's password the e2e server is started with. */
export { ADMIN_PASSWORD };

/** Signs in through the login form; with `js` (the default) also waits until the landing page is
 *  interactive, so the next navigation never interrupts the page while it loads. */
export async function signIn(page: Page, opts: { username?: string; password?: string; js?: boolean } = {}) {
  const username = opts.username ?? 'admin';
  await page.goto('/login');
  // Submitting before the login page is interactive would abort its own bundle's download.
  if (opts.js ?? true) await hydrated(page);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', opts.password ?? ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await expect(page.getByTestId('me')).toContainText(username);
  if (opts.js ?? true) await hydrated(page);
}

/** What a test may provoke on purpose: refusals with this HTTP status from server functions (counted
 *  in `refused`, not reported), and failed requests whose URL contains `ignoreFailed` (downloads). */
export interface Expected {
  status?: number;
  ignoreFailed?: string;
}

/** Records what shows a page is broken: console errors, page errors, failed requests and HTTP
 *  errors. A navigation that replaces a pending request aborts it: that is not a failure. */
export function watch(page: Page, expected: Expected = {}) {
  const problems: string[] = [];
  const refused: string[] = [];
  const provoked = (text: string) => expected.status !== undefined && text.includes(`status of ${expected.status}`);
  page.on('console', (m) => {
    if (m.type() === 'error' && !provoked(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText === 'net::ERR_ABORTED') return;
    if (expected.ignoreFailed && r.url().includes(expected.ignoreFailed)) return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() === expected.status && r.url().includes('/api/')) refused.push(r.url());
    else if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return { problems, refused };
}
