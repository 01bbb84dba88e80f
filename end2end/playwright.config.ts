import { defineConfig } from '@playwright/test';

// Debian's Chromium: Playwright's own browser download is not reachable from here.
export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  // Every spec on the SQLite server; the turn controls, pending turns and two-tab specs also on
  // Firestore (Google's emulator), the store production runs on.
  projects: [
    { name: 'sqlite', use: { baseURL: process.env.HC_BASE_URL } },
    {
      name: 'firestore',
      testMatch: /(stop|pending|addresses|attachments)\.spec\.ts$/,
      use: { baseURL: process.env.HC_FIRESTORE_URL },
    },
  ],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    trace: 'retain-on-failure',
  },
});
