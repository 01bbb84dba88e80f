import { test, expect, Page } from '@playwright/test';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { modelRequests, openChat, replies, resetModel, send, setModel, userMessages } from './helpers';

// Each chat has its own address (`/c/{id}`), and that address, not anything browser-wide,
// decides where a message goes.

test.beforeEach(async () => {
  await resetModel();
});

const chatUrl = /\/c\/[0-9a-f]{64}$/;
const sidebar = (page: Page) => page.locator('nav.sessions li.session');

test('two tabs on two chats: each message lands in the chat its tab shows', async ({ context }) => {
  const tab1 = await context.newPage();
  await openChat(tab1);
  await send(tab1, 'A: first');
  await expect(replies(tab1)).toHaveCount(1);
  await expect(tab1).toHaveURL(chatUrl);
  const chatA = tab1.url();

  const tab2 = await context.newPage();
  await openChat(tab2); // a new chat in the same browser
  await send(tab2, 'B: first');
  await expect(replies(tab2)).toHaveCount(1);
  await expect(tab2).toHaveURL(chatUrl);
  expect(tab2.url()).not.toBe(chatA);

  // Tab 1 still shows A; its next message goes to A, with A's history only.
  await send(tab1, 'A: second');
  await expect(replies(tab1)).toHaveCount(2);
  const last = (await modelRequests()).at(-1);
  expect(last.messages.map((m: any) => m.content)).toEqual(['A: first', 'Echo: A: first', 'A: second']);
  await tab1.reload();
  await expect(userMessages(tab1)).toHaveText(['A: first', 'A: second']);
  await tab2.reload();
  await expect(userMessages(tab2)).toHaveText(['B: first']);
});

test('New chat during a pending first reply: the reply stays in its own chat', async ({ page }) => {
  await setModel('gemma', { latency_ms: 1500 });
  await openChat(page);
  await send(page, 'the first chat');
  await expect(page.locator('.message.user.pending')).toBeVisible();
  await page.getByRole('link', { name: 'New chat' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(userMessages(page)).toHaveCount(0);

  // The first chat's reply lands in the sidebar, not in this new chat.
  await expect(sidebar(page)).toHaveCount(1, { timeout: 5000 });
  await expect(replies(page)).toHaveCount(0);
  await setModel('gemma', {});
  await send(page, 'a second chat');
  await expect(replies(page)).toHaveCount(1);
  await expect(sidebar(page)).toHaveCount(2);
  const last = (await modelRequests()).at(-1);
  expect(last.messages).toEqual([{ role: 'user', content: 'a second chat' }]);
});

test('back and forward move between chats without a reload', async ({ page }) => {
  await openChat(page);
  await send(page, 'chat one');
  await expect(replies(page)).toHaveCount(1);
  const one = page.url();
  await page.getByRole('link', { name: 'New chat' }).click();
  await send(page, 'chat two');
  await expect(replies(page)).toHaveCount(1);
  await expect(page).toHaveURL(chatUrl);
  const two = page.url();
  expect(two).not.toBe(one);

  // The new chat's `/` became its address once it had a message, so back goes to chat one.
  // The page follows the address itself (no document load: the hydrated state survives).
  await page.evaluate(() => ((window as any).__samePage = true));
  await page.goBack();
  await expect(page).toHaveURL(one);
  await expect(userMessages(page)).toHaveText(['chat one']);
  await page.goForward();
  await expect(page).toHaveURL(two);
  await expect(userMessages(page)).toHaveText(['chat two']);
  expect(await page.evaluate(() => (window as any).__samePage)).toBe(true);

  // Bookmarks work: the address alone opens the chat.
  await page.goto(one);
  await expect(userMessages(page)).toHaveText(['chat one']);
});

test('a page on another site that auto-posts to the app is refused and changes nothing', async ({ page, baseURL }) => {
  await openChat(page);
  await send(page, 'my precious chat');
  await expect(replies(page)).toHaveCount(1);
  const ownerBefore = (await page.context().cookies()).find((c) => c.name === 'hc_owner')?.value;
  const calls = (await modelRequests()).length;

  // "Another website": localhost instead of 127.0.0.1 is another site to the browser.
  const app = new URL(baseURL!);
  const evil = createServer((_, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><form id="f" method="post" action="http://127.0.0.1:${app.port}/api/send">
      <input name="message" value="injected"><input name="model" value="gemma">
      <input name="temperature" value="1"><input name="top_p" value="1"><input name="max_tokens" value="10">
      </form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((r) => evil.listen(0, 'localhost', () => r()));
  const port = (evil.address() as AddressInfo).port;
  try {
    const refused = page.waitForResponse((r) => r.url().includes('/api/send'));
    await page.goto(`http://localhost:${port}/`);
    expect((await refused).status()).toBe(403);
  } finally {
    evil.close();
  }

  await openChat(page);
  await expect(sidebar(page)).toHaveText([/my precious chat/]);
  const ownerAfter = (await page.context().cookies()).find((c) => c.name === 'hc_owner')?.value;
  expect(ownerAfter).toBe(ownerBefore);
  expect((await modelRequests()).length).toBe(calls);
});

test('an address that is not yours shows no chat, and says so', async ({ browser, baseURL }) => {
  const alice = await browser.newContext({ baseURL });
  const a = await alice.newPage();
  await openChat(a);
  await send(a, 'alice at her address');
  await expect(replies(a)).toHaveCount(1);
  await expect(a).toHaveURL(chatUrl);
  const hers = new URL(a.url()).pathname;

  const bob = await browser.newContext({ baseURL });
  const b = await bob.newPage();
  const response = await b.goto(hers);
  expect(response?.status()).toBe(404);
  await expect(b.getByRole('alert')).toContainText('That chat no longer exists.');
  await expect(b.locator('body')).not.toContainText('alice at her address');
  await alice.close();
  await bob.close();
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('past 50 chats the sidebar pages with a plain link, and search finds any title', async ({ page }) => {
    await page.goto('/'); // the page load issues the owner cookie the posts below carry
    for (let i = 0; i < 52; i++) {
      const r = await page.request.post('/api/send', {
        form: { chat: '', message: `old chat ${String(i).padStart(2, '0')}`, model: 'gemma', temperature: '1', top_p: '1', max_tokens: '10' },
        headers: { accept: 'application/json' },
      });
      expect(r.status()).toBe(200);
    }
    await page.goto('/');
    await expect(sidebar(page)).toHaveCount(50);
    await page.getByRole('link', { name: 'More chats' }).click();
    await expect(sidebar(page)).toHaveCount(2);
    await page.getByRole('link', { name: 'old chat 00' }).click();
    await expect(page).toHaveURL(chatUrl);
    await expect(userMessages(page)).toHaveText(['old chat 00']);

    await page.getByLabel('Search your chats by title').fill('chat 01');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect(sidebar(page)).toHaveCount(1);
    await expect(sidebar(page)).toContainText('old chat 01');
  });
});

test('a reload while a reply is pending loses nothing: the turn is stored when it completes', async ({ page }) => {
  await openChat(page);
  await send(page, 'before the reload');
  await expect(replies(page)).toHaveCount(1);
  await setModel('gemma', { latency_ms: 2000 });
  await send(page, 'pending when the page reloads');
  await expect(page.locator('.message.user.pending')).toBeVisible();
  await page.reload(); // the request is dropped; the turn goes on on the server
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect
    .poll(async () => {
      await page.reload();
      return userMessages(page).count();
    }, { timeout: 10_000, intervals: [1000] })
    .toBe(2);
  await expect(replies(page).last()).toContainText('Echo: pending when the page reloads');
  expect((await modelRequests()).length).toBe(2);
});
