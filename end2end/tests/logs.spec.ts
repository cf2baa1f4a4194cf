import { test, expect } from '@playwright/test';
import { hydrated, signIn, watch } from './helpers';

test.describe.configure({ mode: 'serial' });

test('provisioning logs: filters, app filter, downloads, empty chart, no broken requests', async ({ page }) => {
  const { problems } = watch(page, { ignoreFailed: 'format=' });
  await signIn(page);

  // An app to filter on (the JSON API takes the session cookie).
  const created = await page.request.post('/api/v1/apps', { data: { name: 'Logs E2E SCIM' } });
  expect(created.ok()).toBeTruthy();
  const app = await created.json();

  // Every app's logs: the table, labelled filters, downloads.
  await page.goto('/provisioning-logs');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Provisioning logs' })).toBeVisible();
  await expect(page.getByLabel('Status')).toBeVisible();
  await expect(page.getByLabel('Action')).toBeVisible();
  await expect(page.getByLabel('Identity')).toBeVisible();
  await expect(page.getByLabel('Time range')).toBeVisible();
  await expect(page.getByTestId('filter-app').locator('option', { hasText: 'Logs E2E SCIM' })).toHaveCount(1);

  // Filtering with JavaScript: the URL carries the filters, the downloads too.
  await page.getByTestId('filter-status').selectOption('Failure');
  await page.getByTestId('filter-range').selectOption('7d');
  await page.getByTestId('filter-apply').click();
  await expect(page).toHaveURL(/status=Failure/);
  await expect(page).toHaveURL(/range=7d/);
  await expect(page.getByTestId('download-csv')).toHaveAttribute('href', /status=Failure/);

  // The all-apps export is a 200 with the file.
  const csv = await page.request.get('/api/logs-export?format=csv&status=Failure');
  expect(csv.status()).toBe(200);
  expect(csv.headers()['content-disposition']).toContain('attachment');
  expect((await csv.text()).split('\n')[0]).toContain('displayName');

  // Picking the app shows its chart panel (no cycles yet) and links its JSON API export.
  await page.getByTestId('filter-app').selectOption(app.id);
  await page.getByTestId('filter-apply').click();
  await expect(page).toHaveURL(new RegExp(`app=${app.id}`));
  await expect(page.getByTestId('activity')).toContainText('No cycles yet');
  await expect(page.getByTestId('download-json')).toHaveAttribute('href', new RegExp(`/api/v1/apps/${app.id}/provisioning/logs\\?format=json`));
  const json = await page.request.get(`/api/v1/apps/${app.id}/provisioning/logs?format=json`);
  expect(json.status()).toBe(200);

  // The app's own logs blade.
  await page.goto(`/apps/${app.id}/provisioning/logs`);
  await hydrated(page);
  await expect(page.getByTestId('logs-blade')).toBeVisible();
  await expect(page.getByTestId('log-empty')).toBeVisible();

  // Keyboard: the filters are reachable and show focus.
  await page.getByTestId('filter-identity').focus();
  await expect(page.getByTestId('filter-identity')).toBeFocused();

  expect(problems).toEqual([]);
});

test('provisioning logs work without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, { js: false });
  await page.goto('/provisioning-logs?status=Failure&identity=nobody');
  await expect(page.getByTestId('filter-status')).toHaveValue('Failure');
  await expect(page.getByTestId('filter-identity')).toHaveValue('nobody');
  await expect(page.getByTestId('log-empty')).toBeVisible();
  // The GET form submits as a plain form.
  await page.getByTestId('filter-identity').fill('');
  await page.getByTestId('filter-apply').click();
  await expect(page).toHaveURL(/provisioning-logs\?/);
  await expect(page).not.toHaveURL(/identity=nobody/);
  await context.close();
});
