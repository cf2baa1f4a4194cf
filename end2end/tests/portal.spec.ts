import { test, expect, Page, Browser } from '@playwright/test';
import { hydrated, signIn, watch } from './helpers';

const READER_PASSWORD = 'e2e-Reader-password-2026';

test.describe.configure({ mode: 'serial' });

test('sign in, create, edit, group, import, delete, restore, sign out', async ({ page }) => {
  const { problems } = watch(page);

  // Anonymous visitors are sent to sign-in.
  await page.goto('/users');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', 'wrong-password-here');
  await page.click('button[type=submit]');
  await expect(page.getByRole('alert')).toContainText('user name or password is incorrect');

  await signIn(page);
  await page.goto('/users');
  await hydrated(page);
  await expect(page.getByTestId('user-table').locator('tbody tr')).toHaveCount(25);

  // Search narrows the list.
  await page.fill('input[name=search]', 'ada');
  await page.click('form.filters button[type=submit]');
  await expect(page).toHaveURL(/search=ada/);
  const rows = page.getByTestId('user-table').locator('tbody tr');
  await expect(rows.first()).toBeVisible();
  for (const text of await rows.allInnerTexts()) expect(text.toLowerCase()).toContain('ada');

  // Create a user.
  await page.goto('/users/new');
  await hydrated(page);
  await page.fill('input[name=user_principal_name]', 'grace.hopper@contoso.example');
  await page.fill('input[name=given_name]', 'Grace');
  await page.fill('input[name=surname]', 'Hopper');
  await page.fill('input[name=department]', 'Engineering');
  await page.getByTestId('save-user').click();
  await expect(page.getByTestId('user-title')).toHaveText('Grace Hopper');
  await expect(page.getByRole('status')).toContainText('Saved');
  const userUrl = page.url().split('?')[0];

  // Edit it.
  await page.fill('input[name=job_title]', 'Rear Admiral');
  await page.getByTestId('save-user').click();
  await expect(page.locator('input[name=job_title]')).toHaveValue('Rear Admiral');
  await page.goto(userUrl);
  await hydrated(page);
  await expect(page.locator('input[name=job_title]')).toHaveValue('Rear Admiral');

  // The manager picker suggests directory users as the admin types.
  await page.getByTestId('manager-input').fill('ada.fer');
  await expect(page.locator('#manager-options option[value="ada.fernandez@contoso.example"]')).toHaveCount(1);
  await page.getByTestId('manager-input').fill('ada.fernandez@contoso.example');
  await page.getByTestId('save-user').click();
  await expect(page.locator('body')).toContainText('Now: Ada Fernández');
  await expect(page.getByTestId('manager-input')).toHaveValue('ada.fernandez@contoso.example');

  // A bad value is refused with the field named.
  await page.fill('input[name=usage_location]', 'NOR');
  await page.getByTestId('save-user').click();
  await expect(page.getByRole('alert')).toContainText('usageLocation');

  // Add it to a group.
  await page.goto('/groups?search=zoom');
  await page.getByRole('link', { name: 'Zoom Users' }).click();
  await hydrated(page);
  await page.getByTestId('add-member-input').fill('grace.hopper@contoso.example');
  await page.getByTestId('add-member').click();
  // Members are paged, so look for the notice here and for the membership on the user's page.
  await expect(page.locator('body')).toContainText('Member added');
  await page.goto(userUrl);
  await expect(page.getByTestId('member-of')).toContainText('Zoom Users');

  // Import a CSV with one bad row: the error is shown and nothing is imported.
  await page.goto('/users/import');
  await hydrated(page);
  const csv = 'userPrincipalName,displayName,department,accountEnabled\n' +
    'lin.good@contoso.example,Lin Good,Sales,true\n' +
    'not-an-upn,Bad Row,Sales,perhaps\n';
  await page.setInputFiles('input[type=file]', { name: 'users.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.locator('form[enctype="multipart/form-data"] button[type=submit]').click();
  const importErrors = page.getByTestId('import-errors');
  await expect(importErrors).toContainText('row 3');
  await expect(importErrors).toContainText('accountEnabled');
  await expect(page.getByTestId('run-import')).toHaveCount(0);
  await expect(page.locator('body')).toContainText('Nothing was imported');
  await page.goto('/users?search=lin%20good');
  await expect(page.getByTestId('user-table').locator('tbody tr')).toHaveCount(0);

  // A good file imports, with a progress bar.
  await page.goto('/users/import');
  await hydrated(page);
  const good = 'userPrincipalName,displayName,department\nlin.good@contoso.example,Lin Good,Sales\nmo.fine@contoso.example,Mo Fine,Sales\n';
  await page.setInputFiles('input[type=file]', { name: 'users.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await page.locator('form[enctype="multipart/form-data"] button[type=submit]').click();
  await page.getByTestId('run-import').click();
  await expect(page.getByTestId('import-progress')).toBeVisible();
  await expect(page.getByTestId('import-status')).toContainText('Imported 2', { timeout: 20_000 });
  await page.goto('/users?search=lin%20good');
  await expect(page.getByTestId('user-table').locator('tbody tr')).toHaveCount(1);

  // Soft-delete and restore.
  await page.goto(userUrl);
  await hydrated(page);
  await page.getByTestId('delete-user').click();
  await expect(page).toHaveURL(/\/recycle-bin/);
  await expect(page.getByTestId('recycle-table')).toContainText('grace.hopper@contoso.example');
  await page.goto(userUrl);
  await page.getByTestId('restore-user').click();
  await expect(page.getByRole('status')).toContainText('Restored');
  await page.goto('/recycle-bin');
  await expect(page.getByTestId('recycle-table')).not.toContainText('grace.hopper@contoso.example');

  // The audit log shows what happened.
  await page.goto('/audit');
  await expect(page.locator('body')).toContainText('user.restore');

  // Sign out ends the session.
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/users');
  await expect(page).toHaveURL(/\/login\?next=/);

  expect(problems).toEqual([]);
});

test('a Reader cannot change anything', async ({ page }) => {
  await signIn(page);
  const created = await page.request.post('/api/v1/admins', {
    data: { username: 'rita', password: READER_PASSWORD, role: 'Reader' },
  });
  expect(created.status()).toBe(201);
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/login/);

  await signIn(page, { username: 'rita', password: READER_PASSWORD });
  await page.goto('/users');
  await hydrated(page);
  await expect(page.getByTestId('user-table').locator('tbody tr').first()).toBeVisible();
  await expect(page.getByTestId('new-user')).toHaveCount(0);

  // Even the form submitted by hand is refused by the server.
  await page.goto('/users/new');
  await hydrated(page);
  await page.fill('input[name=user_principal_name]', 'sneaky@contoso.example');
  await page.fill('input[name=display_name]', 'Sneaky');
  await page.getByTestId('save-user').click();
  await expect(page.getByRole('alert')).toContainText('cannot change the directory');
  const r = await page.request.get('/api/v1/users?search=sneaky');
  expect((await r.json()).value).toHaveLength(0);
  const api = await page.request.post('/api/v1/groups', { data: { displayName: 'Nope' } });
  expect(api.status()).toBe(403);
});

test('plain forms work with JavaScript off', async ({ browser }: { browser: Browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, { js: false });

  await page.goto('/users?search=grace');
  await expect(page.getByTestId('user-table')).toContainText('grace.hopper@contoso.example');

  await page.goto('/users/new');
  await page.fill('input[name=user_principal_name]', 'nojs.user@contoso.example');
  await page.fill('input[name=display_name]', 'No JS User');
  await page.getByTestId('save-user').click();
  await expect(page.getByTestId('user-title')).toHaveText('No JS User');

  await page.goto('/groups');
  await page.getByTestId('new-group-name').fill('No-JS Group');
  await page.getByTestId('create-group').click();
  await expect(page.locator('body')).toContainText('No-JS Group');
  await context.close();
});
