import { test, expect, Page, BrowserContext } from '@playwright/test';
import { expectAccessible, resetModel, replies, send } from './helpers';

// A 2,000-message chat (seeded by the test stack) opens at its newest page, loads earlier
// messages on request with JavaScript and without, and still takes new messages.

const chat = () => process.env.HC_LONG_CHAT!;
const messages = (page: Page) => page.locator('.transcript article.message');
const earlier = (page: Page) => page.getByRole('link', { name: 'Show earlier messages' });

async function asOwner(context: BrowserContext) {
  await context.addCookies([
    { name: 'hc_owner', value: process.env.HC_LONG_OWNER!, url: process.env.HC_BASE_URL! },
  ]);
}

test.beforeEach(async ({ context }) => {
  await resetModel();
  await asOwner(context);
});

/** The seq of the first message the page shows. */
const firstSeq = async (page: Page) => Number(await messages(page).first().getAttribute('data-seq'));

test('a long chat opens at its newest messages and shows earlier ones where the reader is', async ({ page }) => {
  await page.goto(`/c/${chat()}`);
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(messages(page)).toHaveCount(50);
  // 2,000 messages, or a few more once this file has sent in the chat.
  const first = await firstSeq(page);
  expect(first).toBeGreaterThanOrEqual(1950);
  // The bodies came in the HTML only; the hydrated page shows them, and keeps them when it
  // redraws around them.
  const turn = (first - 1950) / 2 + 975;
  await expect(page.locator(`article[data-seq="${first}"] .text`)).toHaveText(
    `question ${turn}: tell me about **markdown** and \`code\``,
  );
  await expect(page.locator(`article[data-seq="${first + 1}"] .markdown strong`)).toHaveText('bold');
  await expect(page.locator(`article[data-seq="${first + 49}"]`)).toBeInViewport();

  await earlier(page).click();
  await expect(messages(page)).toHaveCount(100);
  await expect(messages(page).first()).toHaveAttribute('data-seq', String(first - 50));
  // No page load: the address is the chat's, and the reader stays where they were, at what
  // was the first message, not thrown back to the bottom.
  await expect(page).toHaveURL(new RegExp(`/c/${chat()}$`));
  await expect(page.locator(`article[data-seq="${first}"]`)).toBeInViewport();
  await expect(page.locator(`article[data-seq="${first + 49}"]`)).not.toBeInViewport();
  await expect(page.locator('[data-announcer]')).toHaveText('50 earlier messages shown above.');
  await expect(page.locator(`article[data-seq="${first + 1}"] .markdown strong`)).toHaveText('bold');
  await expect(page.locator(`article[data-seq="${first - 49}"] .markdown code`).first()).toHaveText('code');

  // By keyboard, too.
  await earlier(page).focus();
  await page.keyboard.press('Enter');
  await expect(messages(page)).toHaveCount(150);

  // Sending still works, below everything, and brings the newest into view.
  await send(page, 'one more question in a long chat');
  await expect(page.locator('.message.user').last()).toHaveText('one more question in a long chat');
  await expect(replies(page).last()).toContainText('Echo: one more question in a long chat', { timeout: 10_000 });
  await expect(replies(page).last()).toBeInViewport();
});

test('without JavaScript, Show earlier is a link to the chat from an earlier message', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  await asOwner(context);
  const page = await context.newPage();
  await page.goto(`/c/${chat()}`);
  await expect(messages(page)).toHaveCount(50);
  const first = await firstSeq(page);
  await earlier(page).click();
  await expect(page).toHaveURL(new RegExp(`/c/${chat()}\\?from=${first - 50}$`));
  await expect(messages(page)).toHaveCount(100);
  await expect(messages(page).first()).toHaveAttribute('data-seq', String(first - 50));
  await expect(earlier(page)).toHaveAttribute('href', `/c/${chat()}?from=${first - 100}`);

  // And a message sent from that page lands at the end of the chat.
  await page.getByLabel('Message').fill('sent without JavaScript in a long chat');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await expect(page.locator('.message.user').last()).toHaveText('sent without JavaScript in a long chat', { timeout: 10_000 });
  await context.close();
});

test('a long chat with earlier messages shown passes axe-core', async ({ page }) => {
  await page.goto(`/c/${chat()}`);
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await earlier(page).click();
  await expect(messages(page)).toHaveCount(100);
  await expectAccessible(page, 'a long chat, earlier messages shown');
});
