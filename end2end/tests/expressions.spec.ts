import { test, expect, Page, Browser } from '@playwright/test';
import { hydrated, signIn, watch } from './helpers';

test('the expression builder checks as you type (in the browser) and evaluates for a user', async ({ page }) => {
  const { problems } = watch(page);

  await signIn(page);
  // Navigation is client-side: the page is swapped in place, the document (and its wasm) stays.
  await page.evaluate(() => { (window as unknown as { stayed: boolean }).stayed = true; });
  await page.getByRole('link', { name: 'Expression builder' }).first().click();
  await expect(page).toHaveURL(/\/expressions$/);
  await hydrated(page);
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  // The live check appears once the page has hydrated (it is the wasm build of the engine's checker).
  const live = page.getByTestId('expr-live');
  await expect(live).toContainText('checked as you type');

  // A broken expression: the error with its line and column shows while typing, with no request
  // to the server.
  const calls: string[] = [];
  const onRequest = (r: { url(): string }) => { if (r.url().includes('/api/')) calls.push(r.url()); };
  page.on('request', onRequest);
  const input = page.getByTestId('expr-input');
  await input.fill('Join(".",\n  [givenName] [surname])');
  const liveError = page.getByTestId('expr-live-error');
  await expect(liveError).toContainText('line 2, column 15');
  await expect(liveError.locator('mark')).toHaveText('[surname]');
  await expect(liveError.locator('pre')).toHaveText('  [givenName] [surname])');
  await input.fill('Join(".", [givenName], [surnme])');
  await expect(liveError).toContainText('did you mean [surname]');
  // Fix it.
  await input.fill('Join(".", [givenName], [surname])');
  await expect(page.getByTestId('expr-valid')).toHaveText('✓ valid');
  await expect(liveError).toHaveCount(0);
  page.off('request', onRequest);
  expect(calls).toEqual([]);

  // Pick a demo user (suggested as the admin types) and evaluate.
  const user = page.getByTestId('expr-user');
  await user.fill('ada.fer');
  await expect(page.locator('#expr-user-options option[value="ada.fernandez@contoso.example"]')).toHaveCount(1);
  await user.fill('ada.fernandez@contoso.example');
  await page.getByTestId('evaluate').click();
  await expect(page).toHaveURL(/expression=Join/);
  // The GET form is followed in place too.
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  await expect(page.getByTestId('expr-value')).toHaveText('"Ada.Fernández"');
  await expect(page.getByTestId('expr-type')).toHaveText('String');
  await expect(page.getByTestId('expr-attributes')).toContainText('[givenName]');
  await expect(page.getByTestId('expr-attributes')).toContainText('"Fernández"');
  await expect(page.getByTestId('expr-pretty')).toHaveText('Join(".", [givenName], [surname])');
  await expect(page.getByTestId('expr-result')).toContainText('Ada Fernández');

  // The server's verdict on a wrong expression marks the offending text too.
  await input.fill('ToUpper([departmnt])');
  await page.getByTestId('evaluate').click();
  const serverError = page.getByTestId('expr-error');
  await expect(serverError).toContainText('Line 1, column 9');
  await expect(serverError).toContainText('did you mean [department]');
  await expect(serverError.locator('mark')).toHaveText('[departmnt]');

  // The function reference opens.
  const reference = page.getByTestId('function-reference');
  await reference.locator('summary').click();
  await expect(reference).toContainText('Join(');

  expect(problems).toEqual([]);
});

test('the expression builder evaluates with JavaScript off', async ({ browser }: { browser: Browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, { js: false });
  await page.goto('/expressions');
  await page.getByTestId('expr-input').fill('ToLower([userPrincipalName])');
  await page.getByTestId('expr-user').fill('ada.fernandez@contoso.example');
  await page.getByTestId('evaluate').click();
  await expect(page.getByTestId('expr-value')).toHaveText('"ada.fernandez@contoso.example"');
  await expect(page.getByTestId('expr-input')).toHaveValue('ToLower([userPrincipalName])');
  // No live check without JavaScript: only the server's answer.
  await expect(page.getByTestId('expr-valid')).toHaveCount(0);

  await page.getByTestId('expr-input').fill('Join(",", ');
  await page.getByTestId('evaluate').click();
  await expect(page.getByTestId('expr-error')).toContainText('Line 1');
  await context.close();
});
