import { test, expect } from '@playwright/test';
import { inFlight, modelRequests, openChat, replies, resetModel, send, setModel, userMessages } from './helpers';

// A turn outlives the request that sent it: the page can be reloaded, or opened in another tab,
// while the model works, and it shows the message waiting and then the reply.

test.beforeEach(async () => {
  await resetModel();
});

const chatUrl = /\/c\/[0-9a-f]{64}$/;
const waiting = (page: import('@playwright/test').Page) => page.locator('.message.user[data-status="pending"]');

test('a reload while the reply is pending shows the message waiting, then the reply', async ({ page, context }) => {
  await setModel('gemma', { latency_ms: 4000 });
  await openChat(page);
  await send(page, 'a slow question');
  await expect(page.locator('.message.user.pending')).toBeVisible();
  // The new chat has its address before the reply, so the reload comes back to it.
  await expect(page).toHaveURL(chatUrl);
  // Reloaded once the turn is with the model (accepted and stored pending).
  await expect.poll(() => inFlight('gemma')).toBe(1);
  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(waiting(page)).toHaveText('a slow question');
  await expect(page.locator('.working')).toContainText('Gemma is thinking');
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();

  // Another tab on the same chat sees the same pending turn.
  const other = await context.newPage();
  await other.goto(page.url());
  await expect(waiting(other)).toHaveText('a slow question');

  // The reply arrives without another reload, in both tabs.
  await expect(replies(page)).toHaveCount(1, { timeout: 10_000 });
  await expect(replies(page).first()).toContainText('Echo: a slow question');
  await expect(page.locator('.working')).toHaveCount(0);
  await expect(userMessages(page)).toHaveText(['a slow question']);
  await expect(replies(other)).toHaveCount(1, { timeout: 10_000 });
  // The model was asked once: the reload neither lost the turn nor sent it again.
  expect(await modelRequests()).toHaveLength(1);
  await expect(page.locator('nav.sessions li.session')).toHaveCount(1);

  // And the chat goes on from there.
  await setModel('gemma', {});
  await send(page, 'and now a quick one');
  await expect(replies(page)).toHaveCount(2);
  const last = (await modelRequests()).at(-1);
  expect(last.messages.map((m: any) => m.content)).toEqual([
    'a slow question',
    'Echo: a slow question',
    'and now a quick one',
  ]);
});

test('a reply that fails while nobody is watching is reported on the next load', async ({ page }) => {
  await setModel('gemma', { latency_ms: 1500, fault: 'status500' });
  await openChat(page);
  await send(page, 'doomed while away');
  await expect(page).toHaveURL(chatUrl);
  // Reloaded once the turn is with the model (accepted and stored pending).
  await expect.poll(() => inFlight('gemma')).toBe(1);
  await page.reload();
  await expect(waiting(page)).toHaveText('doomed while away');
  // Polling learns the outcome: the message stays, marked not answered, with the reason.
  const failed = page.locator('.message.user[data-status="failed"]');
  await expect(failed).toContainText('Not answered: Gemma had an internal error', { timeout: 10_000 });
  await page.reload();
  await expect(failed).toContainText('Not answered: Gemma had an internal error');
  await expect(replies(page)).toHaveCount(0);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a plain form post shows the pending message and the page refreshes itself until the reply is there', async ({ page }) => {
    await setModel('gemma', { latency_ms: 3000 });
    await page.goto('/');
    await page.getByLabel('Message').fill('no script, slow model');
    const started = Date.now();
    await page.getByRole('button', { name: 'Send' }).click();
    // The post returns at once, to the chat's own address, with the message waiting.
    await expect(page).toHaveURL(chatUrl);
    expect(Date.now() - started).toBeLessThan(2500);
    await expect(waiting(page)).toHaveText('no script, slow model');
    await expect(page.locator('.working')).toContainText('Gemma is thinking');
    // No reload from the test: the page's own refresh brings the reply.
    await expect(replies(page)).toHaveCount(1, { timeout: 12_000 });
    await expect(replies(page).first()).toContainText('Echo: no script, slow model');
    await expect(page.locator('.working')).toHaveCount(0);
    expect(await modelRequests()).toHaveLength(1);
  });
});
