import type { Page } from '@playwright/test';

/** Waits until the page is interactive: the hydrate entry point marks `<html data-hydrated>` once
 *  event handlers are attached (typing before that is lost), then until the network is quiet. */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true', undefined, { timeout: 30_000 });
  await page.waitForLoadState('networkidle');
}
