import { test, expect, Page } from '@playwright/test';
import { expectAccessible, modelRequests, openChat, replies, resetModel, send } from './helpers';

// A chat's own system prompt, under its title: set before the first message or later, told to
// both models, followed when the page switches chats. A plain form: the same without JavaScript.

test.beforeEach(async () => {
  await resetModel();
});

const disclosure = (page: Page) => page.locator('details.system-prompt');
const shown = (page: Page) => page.locator('.system-prompt-text');

async function setPrompt(page: Page, text: string) {
  await disclosure(page).locator('summary').click();
  await page.getByLabel('Instructions for this chat, sent ahead of every turn').fill(text);
  await disclosure(page).getByRole('button', { name: 'Save' }).click();
}

test('set in a new chat, it is told to both models and follows the chat', async ({ page }) => {
  await openChat(page);
  await expect(shown(page)).toHaveText('none');
  await setPrompt(page, 'Answer in French.');
  await expect(page).toHaveURL(/\/c\/[A-Za-z0-9_-]+$/);
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(shown(page)).toHaveText('Answer in French.');
  const chat = page.url();

  await send(page, 'bonjour');
  await expect(replies(page)).toHaveCount(1);
  await expect(page.locator('#chat-title')).toHaveText('bonjour');
  const sent = (await modelRequests('gemma')).at(-1);
  expect(sent.messages[0]).toEqual({ role: 'system', content: 'Answer in French.' });
  await expectAccessible(page, 'a chat with its system prompt open');

  // A new chat (no reload) has none; back to the first, it is shown again.
  await page.getByRole('link', { name: 'New chat' }).click();
  await expect(shown(page)).toHaveText('none');
  await page.goBack();
  await expect(page).toHaveURL(chat);
  await expect(shown(page)).toHaveText('Answer in French.');

  // Emptied: none again, and the next turn is sent without it.
  await setPrompt(page, '');
  await expect(shown(page)).toHaveText('none');
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await send(page, 'encore');
  await expect(replies(page)).toHaveCount(2);
  const next = (await modelRequests('gemma')).at(-1);
  expect(next.messages[0].role).toBe('user');
});

test('a system prompt that is too long is refused and the old one kept', async ({ page }) => {
  await openChat(page);
  await setPrompt(page, 'Be kind.');
  await expect(shown(page)).toHaveText('Be kind.');
  // The textarea stops typing at 4,000; a crafted post is refused by the server.
  const status = await page.evaluate(async () => {
    const chat = location.pathname.split('/').pop() ?? '';
    const body = new URLSearchParams({ chat, prompt: 'x'.repeat(4_001) });
    return (await fetch('/api/system_prompt', { method: 'POST', body, headers: { accept: 'application/json' } })).status;
  });
  expect(status).toBe(400);
  await page.reload();
  await expect(shown(page)).toHaveText('Be kind.');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the prompt is set, shown and sent', async ({ page }) => {
    await page.goto('/');
    await setPrompt(page, 'Reply in one line.');
    await expect(page).toHaveURL(/\/c\/[A-Za-z0-9_-]+$/);
    await expect(shown(page)).toHaveText('Reply in one line.');
    await page.getByLabel('Message').fill('hello');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(replies(page)).toHaveCount(1, { timeout: 10_000 });
    const sent = (await modelRequests('gemma')).at(-1);
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'Reply in one line.' });
  });
});
