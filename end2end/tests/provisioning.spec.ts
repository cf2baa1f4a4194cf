// The newcomer's path through Enterprise apps and the Provisioning blades, against a real SCIM 2.0
// server (scim2-server, started here on loopback): add a gallery app, enter credentials, Test
// Connection (wrong token, then right), assign a group, preview, provision one user on demand, start,
// watch the progress bar reach the end, check the logs and the target, change a user and see the
// update reach the target, stop. Every page is checked for console errors and failed requests, and
// screenshots of the main blades are saved under end2end/screenshots/ (not committed).
import { test, expect, Page } from '@playwright/test';
import { hydrated, signIn, watch } from './helpers';
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

const TOKEN = 'e2e-scim-token-0123456789abcdef';
const SHOTS = path.join(__dirname, '..', 'screenshots');

let scim: ChildProcess | undefined;
let scimUrl = '';

function scim2Binary(): string {
  const tools = process.env.PROVISIO_TOOLS ?? path.join(os.homedir(), '.cache', 'provisio');
  return path.join(tools, 'venv', 'bin', 'scim2-server');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function scimGet(p: string): Promise<any> {
  const r = await fetch(`${scimUrl}${p}`, { headers: { Authorization: `Bearer ${TOKEN}`, Accept: 'application/scim+json' } });
  expect(r.status, `GET ${p}`).toBe(200);
  return r.json();
}

test.beforeAll(async () => {
  const port = await freePort();
  scimUrl = `http://127.0.0.1:${port}`;
  scim = spawn(scim2Binary(), ['--hostname', '127.0.0.1', '--port', String(port), '--bearer-token', TOKEN], { stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${scimUrl}/ServiceProviderConfig`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error('scim2-server did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  fs.mkdirSync(SHOTS, { recursive: true });
});

test.afterAll(async () => {
  scim?.kill('SIGTERM');
});

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

test.describe.configure({ mode: 'serial' });

test('newcomer: gallery app to provisioned users, against scim2-server', async ({ page }) => {
  test.setTimeout(180_000);
  const { problems } = watch(page);

  await signIn(page);

  // Add an app from the gallery.
  await page.goto('/apps');
  await hydrated(page);
  await page.getByTestId('new-app').click();
  await expect(page.getByTestId('gallery').locator('.gallery-card')).not.toHaveCount(0);
  expect(await page.getByTestId('gallery').locator('.gallery-card').count()).toBeGreaterThanOrEqual(13);
  await page.fill('input[name=search]', 'scim');
  await page.getByTestId('gallery-search').press('Enter');
  await expect(page).toHaveURL(/search=scim/);
  await shot(page, 'gallery');
  await page.getByTestId('gallery-generic-scim').click();
  await expect(page.getByTestId('create-panel')).toBeVisible();
  await page.getByTestId('create-app-name').fill('E2E SCIM app');
  await page.getByTestId('create-app').click();
  await expect(page.getByTestId('app-title')).toHaveText('E2E SCIM app');
  const appUrl = page.url().split('?')[0].replace(/\/$/, '');
  await shot(page, 'app-overview');

  // Mode Automatic, then the admin credentials.
  await page.goto(`${appUrl}/provisioning/edit`);
  await hydrated(page);
  await page.getByTestId('mode-select').selectOption('automatic');
  await page.getByTestId('save-mode').click();
  await expect(page.getByTestId('credentials-form')).toBeVisible();
  // A mistake is named next to its field, and what was typed stays in the form.
  await page.getByTestId('tenant-url').fill('ftp://files.contoso.example/scim');
  await page.getByTestId('save-credentials').click();
  await expect(page.locator('.field-error[data-field="tenantUrl"]')).toContainText('https://');
  await expect(page.getByTestId('tenant-url')).toHaveValue('ftp://files.contoso.example/scim');
  await page.getByTestId('tenant-url').fill(scimUrl);
  await page.getByTestId('secret-token').fill('not-the-right-token-at-all');
  await page.getByTestId('test-connection').click();
  const result = page.getByTestId('connection-result');
  await expect(result).toHaveAttribute('data-ok', 'false');
  await expect(result).toContainText(/401|credentials|Secret Token/i);
  await page.getByTestId('secret-token').fill(TOKEN);
  await page.getByTestId('test-connection').click();
  await expect(result).toHaveAttribute('data-ok', 'true');
  await page.getByTestId('save-credentials').click();
  await expect(page.getByTestId('credentials-saved')).toBeVisible();
  // The secret is never sent back: the page says one is set, by its last four characters only.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('secret-token-hint')).toContainText('cdef');
  expect(await page.content()).not.toContain(TOKEN);
  // Continuous mode: a directory change reaches the app within seconds.
  await page.getByTestId('continuous').check();
  await page.getByTestId('save-settings').click();
  await expect(page.getByTestId('settings-saved')).toBeVisible();
  await shot(page, 'edit-provisioning');

  // Assign the Legal group; remember one of its members.
  await page.goto('/groups?search=Legal');
  await page.getByTestId('group-table').getByRole('link', { name: 'Legal', exact: true }).click();
  await expect(page.getByTestId('group-title')).toHaveText('Legal');
  const memberRows = page.getByTestId('member-table').locator('tbody tr');
  const memberCount = await memberRows.count();
  expect(memberCount).toBeGreaterThan(0);
  const members: { id: string; upn: string }[] = [];
  for (let i = 0; i < memberCount; i++) {
    const href = (await memberRows.nth(i).locator('a[href^="/users/"]').getAttribute('href'))!;
    members.push({ id: href.split('/').pop()!, upn: (await memberRows.nth(i).locator('td').nth(1).innerText()).trim() });
  }
  // Edit a mapping: displayName becomes an expression (a syntax error first, then a correct one),
  // and the expression builder shows what it gives for the first member.
  const displayExpr = 'Join(" ", [givenName], ToUpper([surname]))';
  await page.goto(`${appUrl}/provisioning/mappings`);
  await hydrated(page);
  await page.getByTestId('open-user').click();
  await page.getByTestId('edit-displayName').click();
  await expect(page).toHaveURL(/\/attribute\?target=displayName$/);
  await hydrated(page);
  await page.getByTestId('mapping-type').selectOption('Expression');
  await page.getByTestId('expression').fill('Join(" ", [givenName], ToUpper([surname])');
  await expect(page.getByTestId('expr-live-error')).toContainText('line 1, column');
  await page.getByTestId('expression').fill(displayExpr);
  await expect(page.getByTestId('expr-valid')).toBeVisible();
  await page.getByTestId('save-attribute').click();
  await expect(page.getByTestId('mapping-displayName')).toContainText('ToUpper([surname])');
  await shot(page, 'mapping-editor');
  // A scoping filter: only enabled users.
  await page.getByTestId('filter-0-title').fill('Enabled only');
  await page.getByTestId('clause-0-0-attribute').selectOption('accountEnabled');
  await page.getByTestId('clause-0-0-operator').selectOption('IS TRUE');
  await page.getByTestId('save-scope').click();
  await expect(page.getByTestId('scope-saved')).toBeVisible();
  await page.goto(`/expressions?expression=${encodeURIComponent(displayExpr)}`);
  await hydrated(page);
  await page.getByTestId('expr-user').fill(members[0].upn);
  await page.getByTestId('evaluate').click();
  // The page first showed the result for "no user" (an empty string): wait for the member's.
  await expect(page).toHaveURL(/[?&]user=/);
  await expect(page.getByTestId('expr-value')).not.toHaveText('""');
  await expect(page.getByTestId('expr-type')).toHaveText('String');
  const firstDisplay = JSON.parse(await page.getByTestId('expr-value').innerText()) as string;
  expect(firstDisplay).toMatch(/^\S+ \S/);
  expect(firstDisplay.split(' ').slice(1).join(' ')).toBe(firstDisplay.split(' ').slice(1).join(' ').toUpperCase());

  await page.goto(`${appUrl}/users`);
  await hydrated(page);
  await page.getByTestId('assign-input').fill('Legal');
  await page.getByTestId('assign').click();
  await expect(page.getByTestId('assignment-table')).toContainText('Legal');

  // Preview: creates, and nothing sent.
  await page.goto(`${appUrl}/provisioning/preview`);
  await hydrated(page);
  await page.getByTestId('preview-run').click();
  await expect(page.getByTestId('preview-result').getByTestId('log-entry').first()).toBeVisible();
  await expect(page.getByTestId('preview-Create')).not.toContainText(/^0/);
  await shot(page, 'preview');
  expect((await scimGet('/Users')).totalResults).toBe(0);

  // Provision one member on demand and see its steps (a disabled member is skipped, with the reason:
  // take the first one that is created).
  await page.goto(`${appUrl}/provisioning/on-demand`);
  await hydrated(page);
  let chosen: { id: string; upn: string } | undefined;
  for (const m of members.slice(0, 6)) {
    await page.getByTestId('on-demand-input').fill(m.id);
    await page.getByTestId('on-demand-run').click();
    const entry = page.getByTestId('on-demand-result').getByTestId('log-entry').first();
    await expect(entry).toContainText(m.upn.split('@')[0].split('.')[0], { ignoreCase: true });
    await expect(entry).toContainText('Scope');
    if ((await entry.getAttribute('data-action')) === 'Create') {
      await expect(entry).toHaveAttribute('data-status', 'Success');
      await expect(entry).toContainText('Match');
      chosen = m;
      break;
    }
    await expect(entry).toHaveAttribute('data-action', 'Skip');
  }
  expect(chosen, 'one of the first members is created on demand').toBeDefined();
  await shot(page, 'on-demand');
  expect((await scimGet('/Users')).totalResults).toBe(1);

  // Start provisioning and watch the progress bar reach the end.
  await page.goto(`${appUrl}/provisioning`);
  await hydrated(page);
  await page.getByTestId('job-start').click();
  await expect(page.getByTestId('job-stop')).toBeVisible();
  const progress = page.getByTestId('progress');
  await expect(page.getByTestId('sync-details')).toContainText('Complete', { timeout: 60_000 });
  await expect(progress).toHaveAttribute('value', '100');
  const total = Number(await progress.getAttribute('data-total'));
  expect(total).toBeGreaterThanOrEqual(memberCount);
  const managed = Number(await page.getByTestId('users-managed').innerText());
  expect(managed).toBeGreaterThan(1);
  expect(managed).toBeLessThanOrEqual(memberCount);
  // Everyone but the user provisioned on demand (already linked) was created in this cycle.
  expect(Number(await page.getByTestId('count-created').locator('strong').innerText())).toBeGreaterThanOrEqual(managed - 1);
  await shot(page, 'provisioning-overview');

  // The target holds them: the enabled members of the group, each once.
  expect((await scimGet('/Users')).totalResults).toBe(managed);
  // With the edited mapping: each displayName is the expression's value.
  const chosenInTarget = await scimGet(`/Users?filter=${encodeURIComponent(`userName eq "${chosen!.upn}"`)}`);
  const shown: string = chosenInTarget.Resources[0].displayName;
  expect(shown.split(' ').slice(1).join(' ')).toBe(shown.split(' ').slice(1).join(' ').toUpperCase());

  // The logs show the created users; the drawer shows an entry's steps.
  await page.goto(`${appUrl}/provisioning/logs?action=Create`);
  await hydrated(page);
  const logRows = page.getByTestId('log-table').getByTestId('log-row');
  expect(await logRows.count()).toBeGreaterThanOrEqual(managed - 1);
  await expect(page.getByTestId('activity')).toBeVisible();
  await logRows.first().getByTestId('log-open').click();
  await expect(page.getByTestId('log-drawer').getByTestId('log-entry')).toHaveAttribute('data-action', 'Create');
  await shot(page, 'provisioning-logs');

  // Change the member in the directory; continuous mode sends the update.
  await page.goto(`/users/${chosen!.id}`);
  await hydrated(page);
  const newTitle = `Chief Counsel ${Date.now() % 100000}`;
  await page.fill('input[name=job_title]', newTitle);
  await page.getByTestId('save-user').click();
  await expect(page.getByRole('status')).toContainText('Saved');
  const upn = chosen!.upn;
  await expect
    .poll(async () => {
      const list = await scimGet(`/Users?filter=${encodeURIComponent(`userName eq "${upn}"`)}`);
      return list.Resources?.[0]?.title ?? '';
    }, { timeout: 30_000 })
    .toBe(newTitle);

  // Stop.
  await page.goto(`${appUrl}/provisioning`);
  await hydrated(page);
  await page.getByTestId('job-stop').click();
  await expect(page.getByTestId('job-start')).toBeVisible();
  await expect(page.getByTestId('job-state')).toContainText('Off');

  expect(problems).toEqual([]);
});

test('the provisioning blades render without JavaScript, and Start/Stop work as plain forms', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, { js: false });
  // A GET search keeps what was searched for in its box, without JavaScript too.
  await page.goto('/apps?search=E2E');
  await expect(page.getByTestId('app-search')).toHaveValue('E2E');
  await expect(page.getByTestId('app-table')).toContainText('E2E SCIM app');
  await page.getByTestId('app-table').getByRole('link', { name: 'E2E SCIM app' }).click();
  const appUrl = page.url().split('?')[0].replace(/\/$/, '');
  await page.goto(`${appUrl}/provisioning`);
  await expect(page.getByTestId('progress')).toBeVisible();
  await page.getByTestId('job-start').click();
  await expect(page.getByTestId('job-stop')).toBeVisible();
  await page.getByTestId('job-stop').click();
  await expect(page.getByTestId('job-start')).toBeVisible();
  await context.close();
});
