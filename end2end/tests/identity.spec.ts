// Identity-Aware Proxy mode, on the second server global-setup starts: each browser context
// carries a signed IAP header, as the load balancer would add it.
import { test, expect, Browser } from '@playwright/test';
import { replies, resetModel, send, userMessages } from './helpers';

test.beforeEach(async () => {
  await resetModel();
});

const iap = () => process.env.HC_IAP_URL!;

async function signedIn(browser: Browser, who: 'alice' | 'bob' | 'carol') {
  const context = await browser.newContext({
    baseURL: iap(),
    extraHTTPHeaders: { 'x-goog-iap-jwt-assertion': process.env[`HC_TOKEN_${who.toUpperCase()}`]! },
  });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  return { context, page };
}

const sidebar = (page: import('@playwright/test').Page) => page.locator('nav.sessions li.session');

test('without a signed identity the app is not served', async ({ browser }) => {
  const context = await browser.newContext({ baseURL: iap() });
  const page = await context.newPage();
  const response = await page.goto('/');
  expect(response?.status()).toBe(401);
  await expect(page.getByRole('heading', { name: 'Sign-in required' })).toBeVisible();
  await expect(page.locator('main.app')).toHaveCount(0);
  await context.close();
});

test("a person's chats follow them to another browser; another person never sees them", async ({ browser }) => {
  const laptop = await signedIn(browser, 'alice');
  await send(laptop.page, 'Alice: garden plans');
  await expect(replies(laptop.page)).toHaveCount(1);

  // Another browser, no cookies: the same person finds the chat in the sidebar and opens it.
  const phone = await signedIn(browser, 'alice');
  await expect(sidebar(phone.page)).toHaveCount(1);
  await sidebar(phone.page).getByRole('link', { name: 'Alice: garden plans' }).click();
  await expect(userMessages(phone.page)).toHaveText(['Alice: garden plans']);

  const bob = await signedIn(browser, 'bob');
  await expect(bob.page.locator('nav.sessions')).not.toContainText('Alice');
  await send(bob.page, 'Bob: quarterly numbers');
  await expect(replies(bob.page)).toHaveCount(1);

  await phone.page.reload();
  await expect(sidebar(phone.page)).toHaveCount(1);
  await expect(phone.page.locator('nav.sessions')).not.toContainText('Bob');
  for (const c of [laptop, phone, bob]) await c.context.close();
});

test('over the turn limit the message says when it resets, and the text is kept', async ({ browser }) => {
  const carol = await signedIn(browser, 'carol');
  for (const n of [1, 2, 3]) {
    await send(carol.page, `carol ${n}`);
    await expect(replies(carol.page)).toHaveCount(n);
  }
  await send(carol.page, 'carol 4, one too many');
  await expect(carol.page.getByRole('alert')).toContainText('You can send again in');
  await expect(carol.page.getByLabel('Message')).toHaveValue('carol 4, one too many');
  await expect(replies(carol.page)).toHaveCount(3);
  await carol.page.reload();
  await expect(userMessages(carol.page)).toHaveCount(3); // nothing of the refused turn stored
  await carol.context.close();
});
