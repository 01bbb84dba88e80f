import { test, expect, Page } from '@playwright/test';
import { expectAccessible, modelRequests, openChat, replies, resetModel, send } from './helpers';

// Gemini's thinking, beside the sliders: sent as generationConfig.thinkingConfig with Max tokens
// kept for the answer, its tokens shown under the reply, and kept with the chat. The stand-in
// thinks 600 tokens on Auto, as a middling question does; the same without JavaScript.

test.beforeEach(async () => {
  await resetModel();
});

const picker = (page: Page) => page.getByLabel('Gemini thinking');

test('chosen per chat, sent to Gemini, its tokens shown under the reply', async ({ page }) => {
  await openChat(page);
  await page.getByLabel('Model').selectOption('gemini');
  await expect(picker(page)).toHaveValue('auto');
  await send(page, 'think about tides');
  await expect(replies(page)).toHaveCount(1);
  await expect(replies(page).first().locator('.meta')).toContainText('600 thinking tokens');
  let sent = (await modelRequests('gemini')).at(-1);
  expect(sent.generationConfig.thinkingConfig).toEqual({ thinkingBudget: -1 });
  expect(sent.generationConfig.maxOutputTokens).toBe(1024 + 8192);

  await picker(page).selectOption('off');
  await send(page, 'now quickly');
  await expect(replies(page)).toHaveCount(2);
  await expect(replies(page).last().locator('.meta')).not.toContainText('thinking');
  sent = (await modelRequests('gemini')).at(-1);
  expect(sent.generationConfig.thinkingConfig).toEqual({ thinkingBudget: 0 });
  expect(sent.generationConfig.maxOutputTokens).toBe(1024);
  await expectAccessible(page, 'the thinking picker');

  // The chat keeps its setting across a reload; another chat keeps its own.
  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(picker(page)).toHaveValue('off');
  await page.getByRole('link', { name: 'New chat' }).click();
  await picker(page).selectOption('4096');
  await send(page, 'a second chat');
  await expect(replies(page)).toHaveCount(1);
  sent = (await modelRequests('gemini')).at(-1);
  expect(sent.generationConfig.thinkingConfig).toEqual({ thinkingBudget: 4096 });
  await page.getByRole('link', { name: 'think about tides' }).click();
  await expect(replies(page)).toHaveCount(2);
  await expect(picker(page)).toHaveValue('off');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the picker is part of the plain form and the page shows the thinking', async ({ page }) => {
    await page.goto('/');
    await page.getByLabel('Model').selectOption('gemini');
    await picker(page).selectOption('1024');
    await page.getByLabel('Message').fill('no script here');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page).toHaveURL(/\/c\//);
    await expect(replies(page)).toHaveCount(1, { timeout: 10_000 });
    await expect(replies(page).first().locator('.meta')).toContainText('600 thinking tokens');
    await expect(picker(page)).toHaveValue('1024');
    const sent = (await modelRequests('gemini')).at(-1);
    expect(sent.generationConfig.thinkingConfig).toEqual({ thinkingBudget: 1024 });
    expect(sent.generationConfig.maxOutputTokens).toBe(1024 + 1024);
  });
});
