import { test, expect, Page } from '@playwright/test';
import { expectAccessible, openChat, replies, resetModel } from './helpers';

// A pair (both models' answers to one message) is judged under it, and the Models page counts
// it, with each model's replies, latency, tokens and error rate. Plain forms and a static page:
// the same with JavaScript on and off.

test.beforeEach(async () => {
  await resetModel();
});

const verdict = (page: Page) => page.getByRole('group', { name: 'Your verdict' });

async function askBoth(page: Page, text: string) {
  await page.getByLabel('Message').fill(text);
  await page.getByRole('button', { name: 'Ask both' }).click();
}

/** The figure in `model`'s row of a table on the Models page (`yours` or `everyone`). */
const figure = (page: Page, model: string, name: string) =>
  page.locator(`[data-figures="yours"] tr[data-model="${model}"] [data-figure="${name}"]`);

test('a pair is judged, rejudged, and counted on the Models page', async ({ page }) => {
  await openChat(page);
  await askBoth(page, 'which is better');
  await expect(replies(page)).toHaveCount(2);
  await expect(verdict(page).getByRole('button')).toHaveCount(3);
  await verdict(page).getByRole('button', { name: 'Gemini' }).click();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(verdict(page).getByRole('button', { name: 'Gemini' })).toHaveAttribute('aria-pressed', 'true');
  await expectAccessible(page, 'a judged pair');

  // The settings link to the Models page.
  await page.getByRole('link', { name: 'How the models compare' }).click();
  await expect(page).toHaveURL(/\/models$/);
  await expect(page.getByRole('heading', { name: 'Models', level: 1 })).toBeVisible();
  await expect(figure(page, 'gemini', 'wins')).toHaveText('1');
  await expect(figure(page, 'gemma', 'losses')).toHaveText('1');
  await expect(figure(page, 'gemma', 'replies')).not.toHaveText('0');
  await expect(figure(page, 'gemma', 'errors')).toHaveText('0 %');
  await expectAccessible(page, 'the Models page');

  // Back, rejudged as a tie: the counts move.
  await page.goBack();
  await verdict(page).getByRole('button', { name: 'Tie' }).click();
  await expect(verdict(page).getByRole('button', { name: 'Tie' })).toHaveAttribute('aria-pressed', 'true');
  await page.goto('/models');
  await expect(figure(page, 'gemini', 'wins')).toHaveText('0');
  await expect(figure(page, 'gemini', 'ties')).toHaveText('1');
});

test('the Models page fits a phone', async ({ page }) => {
  await page.setViewportSize({ width: 320, height: 640 });
  await page.goto('/models');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  expect(wide).toBe(false);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a pair is judged and counted', async ({ page }) => {
    await page.goto('/');
    await askBoth(page, 'no script, which is better');
    await expect(replies(page)).toHaveCount(2, { timeout: 10_000 });
    await verdict(page).getByRole('button', { name: 'Gemma' }).click();
    await expect(verdict(page).getByRole('button', { name: 'Gemma' })).toHaveAttribute('aria-pressed', 'true');
    // Pressed again: taken back.
    await verdict(page).getByRole('button', { name: 'Gemma' }).click();
    await expect(verdict(page).getByRole('button', { name: 'Gemma' })).toHaveAttribute('aria-pressed', 'false');
    await verdict(page).getByRole('button', { name: 'Gemma' }).click();
    await page.goto('/models');
    await expect(figure(page, 'gemma', 'wins')).toHaveText('1');
  });
});
