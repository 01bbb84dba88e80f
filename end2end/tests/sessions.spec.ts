import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { openChat, replies, resetModel, send, userMessages } from './helpers';

test.beforeEach(async () => {
  await resetModel();
});

const sidebar = (page: import('@playwright/test').Page) => page.locator('nav.sessions li.session');

test('past chats are listed, switched between, and restored on reload', async ({ page }) => {
  await openChat(page);
  await expect(page.locator('nav.sessions')).toContainText('Chats you start appear here.');
  await send(page, 'first topic');
  await expect(replies(page)).toHaveCount(1);
  await expect(sidebar(page)).toHaveCount(1);
  await expect(sidebar(page).first()).toHaveClass(/current/);

  await page.getByRole('link', { name: 'New chat' }).click();
  await send(page, 'second topic');
  await expect(replies(page)).toHaveCount(1);
  await expect(sidebar(page)).toHaveCount(2);
  await expect(sidebar(page).first()).toContainText('second topic'); // newest first

  await sidebar(page).nth(1).getByRole('link', { name: 'first topic' }).click();
  await expect(userMessages(page)).toHaveText(['first topic']);
  await expect(sidebar(page).nth(1)).toHaveClass(/current/);
  await expect(page).toHaveURL(/\/c\/[0-9a-f]{64}$/);

  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(userMessages(page)).toHaveText(['first topic']);
  await send(page, 'more on the first');
  await expect(replies(page)).toHaveCount(2);
  await expect(sidebar(page).first()).toContainText('first topic'); // moved to the top
});

test('a chat can be renamed, exported, and deleted after confirming', async ({ page }) => {
  await openChat(page);
  await send(page, 'export me');
  await expect(replies(page)).toHaveCount(1);
  const entry = sidebar(page).first();
  await entry.getByText('Manage').click();
  await entry.getByLabel('New name').fill('My export test');
  await entry.getByRole('button', { name: 'Rename' }).click();
  await expect(entry.locator('.session-title')).toHaveText('My export test');
  await entry.getByText('Manage').click(); // the renamed entry is drawn afresh, closed

  const [md] = await Promise.all([page.waitForEvent('download'), entry.getByRole('link', { name: 'Markdown' }).click()]);
  expect(md.suggestedFilename()).toBe('hybrid-chat-my-export-test.md');
  const markdown = readFileSync((await md.path())!, 'utf8');
  expect(markdown).toContain('# My export test');
  expect(markdown).toContain('Echo: export me');
  const [js] = await Promise.all([page.waitForEvent('download'), entry.getByRole('link', { name: 'JSON' }).click()]);
  const exported = JSON.parse(readFileSync((await js.path())!, 'utf8'));
  expect(exported.messages.map((m: any) => m.text)).toEqual(['export me', 'Echo: export me']);

  await page.reload();
  await expect(sidebar(page).first().locator('.session-title')).toHaveText('My export test');

  // Dismissing the confirmation keeps the chat; accepting deletes it.
  await sidebar(page).first().getByText('Manage').click();
  page.once('dialog', (d) => d.dismiss());
  await sidebar(page).first().getByRole('button', { name: 'Delete this chat' }).click();
  await expect(sidebar(page)).toHaveCount(1);
  page.once('dialog', (d) => d.accept());
  await sidebar(page).first().getByRole('button', { name: 'Delete this chat' }).click();
  await expect(sidebar(page)).toHaveCount(0);
  await expect(replies(page)).toHaveCount(0);
  await page.reload();
  await expect(sidebar(page)).toHaveCount(0);
});

test('two visitors never see each other\'s chats', async ({ browser, baseURL }) => {
  const alice = await browser.newContext({ baseURL });
  const bob = await browser.newContext({ baseURL });
  const a = await alice.newPage();
  const b = await bob.newPage();
  await openChat(a);
  await send(a, 'alice only');
  await expect(replies(a)).toHaveCount(1);
  await openChat(b);
  await send(b, 'bob only');
  await expect(replies(b)).toHaveCount(1);

  await expect(sidebar(a)).toHaveText([/alice only/]);
  await expect(sidebar(b)).toHaveText([/bob only/]);

  // Bob tries Alice's session id, taken from her sidebar: no chat for him.
  const hers = await sidebar(a).first().getAttribute('data-session');
  const opened = await b.request.post('/api/open_session', { form: { id: hers! }, headers: { accept: 'application/json' } });
  expect(await opened.json()).toBe('NoSuchChat');
  expect((await b.request.get(`/export/${hers}.md`)).status()).toBe(404);
  await b.reload();
  await expect(b.locator('body')).not.toContainText('alice only');
  await alice.close();
  await bob.close();
});
