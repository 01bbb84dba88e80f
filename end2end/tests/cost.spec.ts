import { test, expect, Page } from '@playwright/test';
import { expectAccessible, openChat, replies, resetModel, send, setModel } from './helpers';

// What each answer cost: under every reply ("$0.0016" for Gemini, "≈ $0.000093 of GPU time" for
// Gemma), the chat's running total under its title, and the Models page's spend, break-even
// sentence and chart. The expected amounts come from the chat's JSON export (what the stand-ins
// reported, costed by the server at its prices), never from numbers written here.

test.beforeEach(async () => {
  await resetModel();
});

/** The server's money format: two significant digits, at least cents (`app::cost::dollars`). */
function dollars(nano: number): string {
  let decimals = 2;
  const at = (d: number) => Math.round(nano / 10 ** (9 - d));
  let value = at(decimals);
  while (value < 10 && decimals < 9 && nano > 0) {
    decimals += 1;
    value = at(decimals);
  }
  const unit = 10 ** decimals;
  return `$${Math.floor(value / unit)}.${String(value % unit).padStart(decimals, '0')}`;
}

/** The open chat's messages and session, from its JSON export. */
async function exported(page: Page): Promise<{ messages: any[]; session: any }> {
  const chat = new URL(page.url()).pathname.replace('/c/', '');
  const r = await page.request.get(`/export/${chat}.json`);
  expect(r.ok()).toBeTruthy();
  return r.json();
}

test('each reply shows its cost, the chat its total', async ({ page }) => {
  await setModel('gemma', { latency_ms: 200 });
  await openChat(page);
  await page.getByLabel('Model').selectOption('gemini');
  await send(page, 'what does this cost');
  await expect(replies(page)).toHaveCount(1);
  await page.getByLabel('Model').selectOption('gemma');
  await send(page, 'and on the GPU');
  await expect(replies(page)).toHaveCount(2);

  const { messages, session } = await exported(page);
  const [gemini, gemma] = [messages[1], messages[3]];
  expect(gemini.cost.nano_usd).toBeGreaterThan(0);
  expect(gemma.cost.gpu_ms).toBeGreaterThan(0);
  await expect(replies(page).first().locator('.meta')).toContainText(dollars(gemini.cost.nano_usd));
  await expect(replies(page).last().locator('.meta')).toContainText(
    `≈ ${dollars(gemma.cost.nano_usd)} of GPU time`,
  );
  expect(session.cost_nano).toBe(gemini.cost.nano_usd + gemma.cost.nano_usd);
  await expect(page.locator('.chat-cost')).toHaveText(`Spent in this chat: ${dollars(session.cost_nano)}`);
  await expectAccessible(page, 'a chat with costs');

  // After a reload, the same figures, from the store.
  await page.reload();
  await expect(page.locator('.chat-cost')).toHaveText(`Spent in this chat: ${dollars(session.cost_nano)}`);
  await expect(replies(page).first().locator('.meta')).toContainText(dollars(gemini.cost.nano_usd));
});

test('the Models page shows spend, the break-even and its chart; it passes axe and fits a phone', async ({
  page,
}) => {
  await openChat(page);
  await page.getByLabel('Model').selectOption('gemini');
  await send(page, 'one for the figures');
  await expect(replies(page)).toHaveCount(1);
  const { messages } = await exported(page);

  await page.goto('/models?period=today');
  await expect(page.getByRole('link', { name: 'Today' })).toHaveAttribute('aria-current', 'page');
  const spend = page.locator('[data-figures="yours"] tr[data-model="gemini"] [data-figure="spend"]');
  // This browser's chats hold this one Gemini reply today.
  await expect(spend).toHaveText(dollars(messages[1].cost.nano_usd));
  await expect(page.locator('[data-figure="break-even"]')).toContainText(/a Gemini reply/i);
  await expect(page.getByRole('img', { name: 'Cost per reply against replies a day' })).toBeVisible();
  await expect(page.locator('.method')).toContainText('GEMMA_GPU_USD_PER_HOUR');
  await expectAccessible(page, 'the Models page with costs');

  await page.getByRole('link', { name: '7 days' }).click();
  await expect(page).toHaveURL(/period=7d/);
  await expect(spend).toHaveText(dollars(messages[1].cost.nano_usd));

  await page.setViewportSize({ width: 320, height: 640 });
  await page.reload();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  expect(wide).toBe(false);
  await expect(page.getByRole('img', { name: 'Cost per reply against replies a day' })).toBeVisible();
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the cost and the total are on the page the form post lands on', async ({ page }) => {
    await page.goto('/');
    await page.getByLabel('Model').selectOption('gemini');
    await page.getByLabel('Message').fill('no script, still priced');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page).toHaveURL(/\/c\//);
    await expect(replies(page)).toHaveCount(1, { timeout: 10_000 });
    const { messages, session } = await exported(page);
    await expect(replies(page).first().locator('.meta')).toContainText(dollars(messages[1].cost.nano_usd));
    await expect(page.locator('.chat-cost')).toHaveText(`Spent in this chat: ${dollars(session.cost_nano)}`);
    await page.goto('/models');
    await expect(page.getByRole('img', { name: 'Cost per reply against replies a day' })).toBeVisible();
  });
});
