import { test, expect } from '@playwright/test';
import { expectAccessible, openChat, replies, resetModel, send, setModel } from './helpers';

// Copy on every reply (its Markdown source) and on every code block (its text): buttons that
// /copy.js adds with JavaScript on, to rows from the page and rows drawn after it.

const SOURCE = 'Here is **the** fix:\n\n```rust\nfn main() {\n    println!("hi");\n}\n```\n\nDone.';

test.beforeEach(async ({ context }) => {
  await resetModel();
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
});

const clipboard = (page: import('@playwright/test').Page) =>
  page.evaluate(() => navigator.clipboard.readText());

test('a reply copies as Markdown, and its code block as code', async ({ page }) => {
  await setModel('gemma', { reply: SOURCE });
  await openChat(page);
  await send(page, 'show me code');
  await expect(replies(page)).toHaveCount(1);
  const reply = replies(page).first();
  // Drawn after hydration, it has its buttons too.
  const copyReply = reply.getByRole('button', { name: "Copy this reply's Markdown" });
  await copyReply.click();
  // The outcome is the button's name for a moment (a screen reader reads it), then Copy again.
  await expect(reply.getByRole('button', { name: 'Copied' })).toHaveText('Copied');
  expect(await clipboard(page)).toBe(SOURCE);
  await expect(copyReply).toHaveText('Copy', { timeout: 5_000 });
  await reply.getByRole('button', { name: 'Copy this code' }).click();
  await expect.poll(() => clipboard(page)).toBe('fn main() {\n    println!("hi");\n}\n');

  // After a reload (rows from the page): the same, and the page passes axe with them.
  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await page.evaluate(() => navigator.clipboard.writeText(''));
  await replies(page).first().getByRole('button', { name: "Copy this reply's Markdown" }).click();
  await expect.poll(() => clipboard(page)).toBe(SOURCE);
  await expect(replies(page).first().getByRole('button', { name: 'Copy this code' })).toHaveCount(1);
  await expectAccessible(page, 'a reply with copy buttons');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('there are no copy buttons that could not work', async ({ page }) => {
    await setModel('gemma', { reply: SOURCE });
    await page.goto('/');
    await page.getByLabel('Message').fill('show me code');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(replies(page)).toHaveCount(1, { timeout: 10_000 });
    await expect(replies(page).first().locator('pre')).toHaveCount(1);
    await expect(page.locator('button.copy')).toHaveCount(0);
  });
});
