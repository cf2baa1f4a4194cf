import { defineConfig } from '@playwright/test';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';

// Each run gets its own data directory and port, so a run never sees another run's database.
// The config is evaluated in the runner and again in each worker: fix the choice in the environment once.
process.env.E2E_PORT ??= String(3900 + Math.floor(Math.random() * 90));
process.env.E2E_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'provisio-e2e-'));
const port = Number(process.env.E2E_PORT);
const dataDir = process.env.E2E_DATA_DIR;
export const ADMIN_PASSWORD = 'e2e-Owner-passphrase-2026';

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'off',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
          ],
        },
      },
    },
  ],
  webServer: {
    command: '../target/debug/provisio serve',
    url: `http://127.0.0.1:${port}/healthz`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    env: {
      PROVISIO_ADDR: `127.0.0.1:${port}`,
      PROVISIO_DATA_DIR: dataDir,
      PROVISIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
      PROVISIO_DEMO: 'true',
      LEPTOS_SITE_ROOT: '../target/site',
      DATABASE_URL: '',
      PROVISIO_ALLOW_PRIVATE_TARGETS: 'true',
    },
  },
});
