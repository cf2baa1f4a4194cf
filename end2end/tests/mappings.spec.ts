// The Mappings blades: add a scoping filter clause (a validation error shown next to its field
// first), edit an attribute mapping to an expression (the in-browser check shows a syntax error with
// its position, the server's check names the field, then a correct one is saved), restore the
// default mappings; and the plain forms without JavaScript. Every page is checked for console errors
// and failed requests (the 422 answers to the invalid saves this test makes on purpose excepted).
import { test, expect, Page, Browser } from '@playwright/test';
import { hydrated, signIn, watch } from './helpers';

/** Creates a generic SCIM app from the gallery and returns its mappings URL. */
async function newApp(page: Page, name: string): Promise<string> {
  await page.goto('/apps/new?template=generic-scim#create');
  await hydrated(page);
  await page.getByTestId('create-app-name').fill(name);
  await page.getByTestId('create-app').click();
  await expect(page).toHaveURL(/\/apps\/[0-9a-f-]{36}$/);
  return `${page.url()}/provisioning/mappings`;
}

test.describe.configure({ mode: 'serial' });

test('scoping filter, expression mapping, restore defaults', async ({ page }) => {
  const { problems, refused } = watch(page, { status: 422 });
  await signIn(page);
  const mappings = await newApp(page, `Mappings e2e ${Date.now()}`);

  // The list: both object mappings, enabled, linking to their editors.
  await page.goto(mappings);
  await hydrated(page);
  await expect(page.getByTestId('mapping-row-user')).toContainText('User');
  await expect(page.getByTestId('enabled-user')).toBeChecked();
  await page.getByTestId('open-user').click();
  await expect(page).toHaveURL(/\/mappings\/user$/);
  await hydrated(page);
  await expect(page.getByTestId('attribute-mappings')).toContainText('userName');
  // The required mapping offers no Delete; the others do.
  await expect(page.getByTestId('delete-userName')).toHaveCount(0);
  await expect(page.getByTestId('delete-displayName')).toHaveCount(1);

  // Source object scope: a clause without its value is refused, with the error next to the field.
  await page.getByTestId('filter-0-title').fill('Engineering only');
  await page.getByTestId('clause-0-0-attribute').selectOption('department');
  await page.getByTestId('clause-0-0-operator').selectOption('EQUALS');
  await page.getByTestId('save-scope').click();
  const valueError = page.getByTestId('clause-0-0').locator('.field-error[data-field="scope.0.0.value"]');
  await expect(valueError).toContainText('EQUALS needs a value');
  // A second clause (AND) added with the button, and the value filled in: saved.
  await page.getByTestId('clause-0-0-value').fill('Engineering');
  await page.getByTestId('filter-0-add-clause').click();
  await page.getByTestId('clause-0-1-attribute').selectOption('accountEnabled');
  await page.getByTestId('clause-0-1-operator').selectOption('IS TRUE');
  await expect(page.getByTestId('clause-0-1-value')).toBeDisabled();
  await page.getByTestId('save-scope').click();
  await expect(page.getByTestId('scope-saved')).toBeVisible();
  await expect(page.getByTestId('filter-0')).toContainText('Scoping filter 1: Engineering only');
  await expect(page.getByTestId('clause-0-0-value')).toHaveValue('Engineering');
  await expect(page.getByTestId('clause-0-1-attribute')).toHaveValue('accountEnabled');
  // Saved for good: a fresh load shows it.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('clause-0-0-attribute')).toHaveValue('department');
  await expect(page.getByTestId('clause-0-1-operator')).toHaveValue('IS TRUE');

  // Edit displayName into an expression.
  await page.getByTestId('edit-displayName').click();
  await expect(page).toHaveURL(/\/attribute\?target=displayName$/);
  await hydrated(page);
  await expect(page.getByTestId('attribute-title')).toContainText('displayName');
  await page.getByTestId('mapping-type').selectOption('Expression');
  await expect(page.getByTestId('source-attribute')).toBeHidden();
  const expression = page.getByTestId('expression');
  await expression.fill('Join(" ", [givenName]');
  // The browser's check shows the syntax error and where it is, before anything is sent.
  const liveError = page.getByTestId('expr-live-error');
  await expect(liveError).toContainText('line 1, column');
  await expect(liveError.locator('mark')).toBeVisible();
  // The server's check names the field: an unknown attribute, next to the expression.
  await expression.fill('ToUpper([departmnt])');
  await expect(page.getByTestId('expr-live-error')).toContainText('did you mean');
  await page.getByTestId('save-attribute').click();
  await expect(page.locator('.field-error[data-field="expression"]')).toContainText('departmnt');
  await expect(page).toHaveURL(/\/attribute\?target=displayName$/);
  // A correct one: valid as typed, saved, shown in the table.
  await expression.fill('Join(" ", [givenName], [surname])');
  await expect(page.getByTestId('expr-valid')).toBeVisible();
  await page.getByTestId('save-attribute').click();
  await expect(page).toHaveURL(/\/mappings\/user\?saved=attribute$/);
  await expect(page.getByTestId('mapping-displayName')).toContainText('Join(" ", [givenName], [surname])');
  await expect(page.getByTestId('mapping-displayName')).toContainText('Expression');

  // Add New Mapping: a constant into nickName.
  await page.getByTestId('add-mapping').click();
  await hydrated(page);
  await page.getByTestId('mapping-type').selectOption('Constant');
  await page.getByTestId('constant').fill('Contoso');
  await page.getByTestId('target-attribute').selectOption('nickName');
  await page.getByTestId('save-attribute').click();
  await expect(page.getByTestId('mapping-nickName')).toContainText('"Contoso"');
  // Delete asks first and says what it does; confirmed, the mapping is gone.
  await page.getByTestId('delete-nickName').click();
  const confirmDelete = page.getByTestId('delete-nickName-confirm');
  await expect(confirmDelete).toBeVisible();
  await expect(page.getByTestId('mapping-nickName')).toContainText('next cycle is an initial cycle');
  await confirmDelete.click();
  await expect(page.getByTestId('mapping-nickName')).toHaveCount(0);

  // Restore default mappings: the confirmation says what it does; then the defaults are back.
  await page.goto(mappings);
  await hydrated(page);
  await page.getByTestId('restore-open').click();
  await expect(page.getByTestId('restore-explained')).toContainText('scoping filters');
  await page.getByTestId('restore-confirm').click();
  await expect(page.getByTestId('restored')).toBeVisible();
  await page.getByTestId('open-user').click();
  await hydrated(page);
  await expect(page.getByTestId('mapping-displayName')).toContainText('[displayName]');
  await expect(page.getByTestId('mapping-nickName')).toHaveCount(0);
  await expect(page.getByTestId('filter-0-title')).toHaveValue('');

  expect(problems).toEqual([]);
  expect(refused.length).toBeLessThanOrEqual(2);
});

test('edit attribute list, actions and enabled toggles', async ({ page }) => {
  const { problems } = watch(page);
  await signIn(page);
  const mappings = await newApp(page, `Mappings schema e2e ${Date.now()}`);
  await page.goto(`${mappings}/user/schema`);
  await hydrated(page);
  await page.getByTestId('new-attr-name').fill('urn:ietf:params:scim:schemas:extension:contoso:2.0:User:badgeNumber');
  await page.getByTestId('add-attribute').click();
  await expect(page.getByTestId('target-attributes')).toContainText("badgeNumber");
  await page.getByTestId('delete-attr-urn-ietf-params-scim-schemas-extension-contoso-2-0-User-badgeNumber').click();
  await expect(page.getByTestId('target-attributes')).not.toContainText("badgeNumber");
  // Required attributes can't be deleted.
  await expect(page.getByTestId('delete-attr-userName')).toHaveCount(0);

  await page.goto(`${mappings}/group`);
  await hydrated(page);
  await page.getByTestId('action-delete').uncheck();
  await page.getByTestId('save-actions').click();
  await expect(page.getByTestId('actions-saved')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('action-delete')).not.toBeChecked();

  await page.goto(mappings);
  await hydrated(page);
  await page.getByTestId('enabled-group').uncheck();
  await page.getByTestId('save-enabled').click();
  await expect(page.getByTestId('enabled-saved')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('enabled-group')).not.toBeChecked();
  expect(problems).toEqual([]);
});

test('the mapping forms work without JavaScript', async ({ browser }: { browser: Browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, { js: false });
  await page.goto('/apps/new?template=generic-scim');
  await page.getByTestId('create-app-name').fill(`Mappings no-JS ${Date.now()}`);
  await page.getByTestId('create-app').click();
  await expect(page).toHaveURL(/\/apps\/[0-9a-f-]{36}$/);
  const mappings = `${page.url()}/provisioning/mappings`;

  // A scoping filter through the blank rows the server renders.
  await page.goto(`${mappings}/user`);
  await page.getByTestId('filter-0-title').fill('Sales only');
  await page.getByTestId('clause-0-0-attribute').selectOption('department');
  await page.getByTestId('clause-0-0-value').fill('Sales');
  await page.getByTestId('save-scope').click();
  await expect(page.getByTestId('filter-0')).toContainText('Scoping filter 1: Sales only');
  await expect(page.getByTestId('clause-0-0-value')).toHaveValue('Sales');
  // And removed again with its checkbox.
  await page.getByTestId('filter-0-remove').check();
  await page.getByTestId('save-scope').click();
  await expect(page.getByTestId('filter-0-title')).toHaveValue('');

  // An expression the server refuses: the error comes back next to the field.
  await page.goto(`${mappings}/user/attribute?target=displayName`);
  await page.getByTestId('mapping-type').selectOption('Expression');
  await page.getByTestId('expression').fill('Join(" ", [givenName]');
  await page.getByTestId('save-attribute').click();
  await expect(page.locator('.field-error[data-field="expression"]')).toBeVisible();
  // A good one is saved.
  await page.getByTestId('mapping-type').selectOption('Expression');
  await page.getByTestId('expression').fill('ToUpper([displayName])');
  await page.getByTestId('save-attribute').click();
  await expect(page.getByTestId('mapping-displayName')).toContainText('ToUpper([displayName])');
  await context.close();
});
