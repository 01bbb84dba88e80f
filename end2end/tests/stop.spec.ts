import { test, expect, Page } from '@playwright/test';
import {
  announcer,
  expectAccessible,
  inFlight,
  modelRequests,
  openChat,
  replies,
  resetModel,
  send,
  setModel,
} from './helpers';

// A reply can take a minute: the person can stop it (the backend request is dropped, which the
// stand-in sees), see how long it has waited, and after a while on Gemma ask Gemini instead.
// The stack offers that after 2 s (OFFER_GEMINI_AFTER_SECS), not the default 15.

test.beforeEach(async () => {
  await resetModel();
});

const stopped = (page: Page) => page.locator('.message.user[data-status="stopped"]');
const stopButton = (page: Page) => page.getByRole('button', { name: 'Stop' });

async function expectDropped(backend: 'gemma' | 'gemini' = 'gemma') {
  await expect.poll(() => inFlight(backend), { message: `${backend} request dropped` }).toBe(0);
}

test('Stop before the reply drops the request and gives the words back', async ({ page }) => {
  await setModel('gemma', { fault: 'hang' });
  await openChat(page);
  await send(page, 'never mind this one');
  await expect(page.locator('.working .elapsed')).toHaveText(/^[1-9]\d* s$/, { timeout: 5000 });
  await expect.poll(() => inFlight()).toBe(1);

  // The words never leave the screen: from the click until the Stop answers they are in the
  // transcript, then in the message box too (watched on every change to the page).
  await page.evaluate((words) => {
    const w = window as any;
    w.wordsGone = false;
    const check = () => {
      const box = document.querySelector('textarea') as HTMLTextAreaElement | null;
      const shown = [...document.querySelectorAll('.message.user .text')].some((p) => p.textContent === words);
      if (!shown && box?.value !== words) w.wordsGone = true;
    };
    new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, 'never mind this one');
  await stopButton(page).click();
  await expect(stopped(page)).toHaveText(/never mind this one/);
  expect(await page.evaluate(() => (window as any).wordsGone), 'the words left the screen while stopping').toBe(false);
  await expect(stopped(page)).toContainText('Stopped before the reply came.');
  await expect(page.locator('.working')).toHaveCount(0);
  await expectDropped();
  await expect(page.getByLabel('Message')).toHaveValue('never mind this one');
  await expect(page.getByLabel('Message')).toBeFocused();
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
  await expect(announcer(page)).toHaveText('Stopped.');

  // Kept as stopped across a reload, and the chat goes on without it in the history.
  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(stopped(page)).toHaveCount(1);
  await setModel('gemma', {});
  await page.getByLabel('Message').fill('something else');
  await page.getByLabel('Message').press('Enter');
  await expect(replies(page)).toHaveCount(1);
  const last = (await modelRequests()).at(-1);
  expect(last.messages.map((m: any) => m.content)).toEqual(['something else']);
});

test('Esc in the message box stops the reply', async ({ page }) => {
  await setModel('gemma', { fault: 'hang' });
  await openChat(page);
  await send(page, 'escape hatch');
  await expect(stopButton(page)).toBeVisible();
  await expect.poll(() => inFlight()).toBe(1);
  await expect(stopButton(page)).toHaveAttribute('aria-keyshortcuts', 'Escape');
  await page.getByLabel('Message').press('Escape');
  await expect(stopped(page)).toHaveCount(1);
  await expectDropped();
});

test('a reply followed after a reload, or in another tab, can be stopped there', async ({ page, context }) => {
  await setModel('gemma', { fault: 'hang' });
  await openChat(page);
  await send(page, 'stopped from the other tab');
  await expect(page).toHaveURL(/\/c\//);
  await expect.poll(() => inFlight()).toBe(1);
  const other = await context.newPage();
  await other.goto(page.url());
  await expect(other.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(other.locator('.working')).toContainText('Gemma is thinking');
  await stopButton(other).click();
  await expect(stopped(other)).toHaveCount(1);
  await expectDropped();
  // The tab that sent it hears of it without alarm.
  await expect(stopped(page)).toHaveCount(1);
  await expect(page.locator('.error')).toHaveCount(0);
});

test('after a while on Gemma, "Ask Gemini instead" stops it and asks Gemini', async ({ page }) => {
  await setModel('gemma', { fault: 'hang' });
  await openChat(page);
  await send(page, 'is anyone there');
  const offer = page.getByRole('button', { name: 'Ask Gemini instead' });
  await expect(offer).toBeHidden();
  await expect(offer).toBeVisible({ timeout: 5000 });
  await expect(announcer(page)).toContainText('ask Gemini instead');
  await expectAccessible(page, 'a reply pending with the offer');

  await offer.click();
  await expect(replies(page)).toHaveCount(1);
  await expect(replies(page).first()).toHaveAttribute('data-model', 'gemini');
  await expect(replies(page).first()).toContainText('Gemini echo: is anyone there');
  await expect(stopped(page)).toHaveText(/is anyone there/);
  await expectDropped();
  expect(await modelRequests('gemini')).toHaveLength(1);
  await expect(page.getByLabel('Message')).toHaveValue('');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the pending page carries Stop and, after a while, "Ask Gemini instead"', async ({ page }) => {
    await setModel('gemma', { fault: 'hang' });
    await page.goto('/');
    await page.getByLabel('Message').fill('stop without script');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.locator('.working')).toContainText('Gemma is thinking');
    await expect.poll(() => inFlight()).toBe(1);
    await stopButton(page).click();
    await expect(stopped(page)).toHaveText(/stop without script/);
    await expectDropped();
    // The words are back in the message box, to edit and send again.
    await expect(page.getByLabel('Message')).toHaveValue('stop without script');

    await page.getByLabel('Message').fill('slow without script');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => inFlight()).toBe(1);
    // The page refreshes itself; once Gemma has taken 2 s, the offer is there.
    const offer = page.getByRole('button', { name: 'Ask Gemini instead' });
    await expect(offer).toBeVisible({ timeout: 8000 });
    await offer.click();
    await expect(replies(page)).toHaveCount(1, { timeout: 10_000 });
    await expect(replies(page).first()).toHaveAttribute('data-model', 'gemini');
    await expect(replies(page).first()).toContainText('Gemini echo: slow without script');
    await expectDropped();
  });
});
