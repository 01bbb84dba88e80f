import { test, expect, Page } from '@playwright/test';
import { expectAccessible, modelRequests, replies, resetModel, send, setModel } from './helpers';

// vLLM's own queue (the load of every replica on the one GPU) reaches the picker before anyone
// sends, with Gemini offered; one click picks it. The server's probe reads the queue every
// second here.

/** Loads the new-chat page until its server-rendered picker says `ready` of Gemma. */
async function pageOnce(page: Page, ready: (status: string) => boolean) {
  await expect(async () => {
    await page.goto('/');
    const status = page.locator('#model-status-gemma');
    const text = (await status.count()) ? await status.innerText() : '';
    expect(ready(text)).toBeTruthy();
  }).toPass({ timeout: 10_000 });
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
}

test.beforeEach(async () => {
  await resetModel();
});

test.afterEach(async ({ page }) => {
  // The next spec starts on a Gemma that is not busy.
  await resetModel();
  await pageOnce(page, (status) => !status.includes('busy'));
});

test('a long Gemma queue is told in the picker, and Gemini is one click away', async ({ page }) => {
  await setModel('gemma', { queue_waiting: 12 });
  await pageOnce(page, (status) => status.includes('Gemma is busy: 12 waiting'));
  const model = page.getByLabel('Model');
  await expect(page.locator('#model option[value="gemma"]')).toContainText('busy');
  await expect(model).toHaveValue('gemma');
  await expect(model).toHaveAccessibleDescription(/Gemma is busy: 12 waiting.*Gemini can answer now/);
  await expectAccessible(page, 'a busy Gemma with Gemini offered');

  const offer = page.getByRole('button', { name: 'Use Gemini' });
  await offer.click();
  await expect(model).toHaveValue('gemini');
  await expect(offer).toHaveCount(0);
  await send(page, 'who answers now?');
  await expect(replies(page)).toHaveCount(1);
  expect(await modelRequests('gemini')).toHaveLength(1);
  expect(await modelRequests('gemma')).toHaveLength(0);
});

test('without JavaScript the busy status and the offer are in the page', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await setModel('gemma', { queue_waiting: 9 });
  await expect(async () => {
    await page.goto('/');
    await expect(page.locator('#model-status-gemma')).toContainText('Gemma is busy: 9 waiting', { timeout: 200 });
  }).toPass({ timeout: 10_000 });
  await expect(page.locator('#model-status-gemma')).toContainText('Gemini can answer now.');
  // The button needs the page's script; without it the words point at the picker.
  await expect(page.getByRole('button', { name: 'Use Gemini' })).toHaveCount(0);
  await context.close();
});
