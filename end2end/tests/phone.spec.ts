// A phone: the conversation first, the composer on the first screen, the chat list and the
// settings as drawers (with and without JavaScript), no sideways scroll, 44 px touch targets,
// and Enter as a newline on a touch keyboard.
import { test, expect, Page, Browser } from '@playwright/test';
import { openChat, replies, resetModel, setModel, userMessages } from './helpers';

test.beforeEach(async () => {
  await resetModel();
});

const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true };

async function phone(browser: Browser, options: object = {}) {
  const context = await browser.newContext({ ...PHONE, ...options });
  return { context, page: await context.newPage() };
}

const inFirstScreen = async (page: Page, selector: string) => {
  const box = (await page.locator(selector).boundingBox())!;
  const height = page.viewportSize()!.height;
  return box.y >= 0 && box.y + box.height <= height;
};

test('the composer is on the first screen and new replies scroll into view', async ({ browser }) => {
  const { context, page } = await phone(browser);
  await openChat(page);
  expect(await inFirstScreen(page, '#message')).toBe(true);
  expect(await inFirstScreen(page, 'button.send')).toBe(true);
  // The settings and the chat list are not stacked above the conversation.
  await expect(page.locator('#settings-drawer')).toBeHidden();
  await expect(page.locator('#chats-drawer')).toBeHidden();

  await setModel('gemma', { reply: Array.from({ length: 60 }, (_, i) => `Line ${i}.`).join('\n\n') });
  for (const text of ['first', 'second']) {
    await page.getByLabel('Message').fill(text);
    await page.getByRole('button', { name: 'Send' }).tap();
    await expect(userMessages(page).last()).toHaveText(text);
  }
  await expect(replies(page)).toHaveCount(2);
  await expect(replies(page).last().getByText('Line 59.')).toBeInViewport();
  expect(await inFirstScreen(page, '#message')).toBe(true);
  await context.close();
});

for (const javaScriptEnabled of [true, false]) {
  test(`drawers open and close ${javaScriptEnabled ? 'with' : 'without'} JavaScript`, async ({ browser }) => {
    const { context, page } = await phone(browser, { javaScriptEnabled });
    if (javaScriptEnabled) await openChat(page);
    else await page.goto('/');
    const chats = page.locator('#chats-drawer');
    const settings = page.locator('#settings-drawer');

    await page.getByRole('button', { name: 'Chats' }).tap();
    await expect(chats).toBeVisible();
    await expect(chats.getByRole('heading', { name: 'Your chats' })).toBeInViewport();
    await page.keyboard.press('Escape');
    await expect(chats).toBeHidden();

    await page.getByRole('button', { name: 'Settings: Gemma' }).tap();
    await expect(settings).toBeVisible();
    await expect(settings.getByLabel('Model')).toBeInViewport();
    await settings.getByRole('button', { name: 'Close' }).tap();
    await expect(settings).toBeHidden();

    // Opening one closes the other; a tap outside closes it.
    await page.getByRole('button', { name: 'Chats' }).tap();
    await expect(chats).toBeVisible();
    await page.mouse.click(385, 420);
    await expect(chats).toBeHidden();
    await context.close();
  });
}

test('without JavaScript, a model picked in the drawer is the one the message goes to', async ({ browser }) => {
  const { context, page } = await phone(browser, { javaScriptEnabled: false });
  await page.goto('/');
  await page.getByRole('button', { name: 'Settings: Gemma' }).tap();
  await page.locator('#settings-drawer').getByLabel('Model').selectOption('gemini');
  await page.keyboard.press('Escape');
  await page.getByLabel('Message').fill('from a phone, no script');
  await page.getByRole('button', { name: 'Send' }).tap();
  await expect(page.locator('.message.model[data-model="gemini"]')).toContainText(
    'Gemini echo: from a phone, no script',
    { timeout: 15_000 },
  );
  await context.close();
});

test('a chat picked in the drawer is shown and the drawer closes', async ({ browser }) => {
  const { context, page } = await phone(browser);
  await openChat(page);
  await page.getByLabel('Message').fill('older chat');
  await page.getByRole('button', { name: 'Send' }).tap();
  await expect(replies(page)).toHaveCount(1);
  await page.getByRole('link', { name: 'New chat' }).tap();
  await expect(replies(page)).toHaveCount(0);
  await page.getByRole('button', { name: 'Chats' }).tap();
  await page.locator('#chats-drawer .session-title').first().tap();
  await expect(page.locator('#chats-drawer')).toBeHidden();
  await expect(userMessages(page)).toHaveText(['older chat']);
  await context.close();
});

test('no sideways scroll at 320 px, whatever the replies hold', async ({ browser }) => {
  const { context, page } = await phone(browser, { viewport: { width: 320, height: 640 } });
  await setModel('gemma', {
    reply: [
      'A very long word: ' + 'x'.repeat(300),
      '',
      '| ' + Array.from({ length: 12 }, (_, i) => `column ${i}`).join(' | ') + ' |',
      '|' + '---|'.repeat(12),
      '| ' + Array.from({ length: 12 }, (_, i) => `value ${i}`).join(' | ') + ' |',
      '',
      '```',
      'let a_long_line_of_code = "' + 'y'.repeat(200) + '";',
      '```',
      '',
      'https://example.com/' + 'z'.repeat(200),
    ].join('\n'),
  });
  await openChat(page);
  await page.getByLabel('Message').fill('w'.repeat(400));
  await page.getByRole('button', { name: 'Send' }).tap();
  await expect(replies(page)).toHaveCount(1);
  await page.getByLabel('Message').fill('both');
  await page.getByRole('button', { name: 'Ask both' }).tap();
  await expect(page.locator('.compare .message.model')).toHaveCount(2);
  for (const drawer of [null, 'Chats', 'Settings: Gemma']) {
    if (drawer) await page.getByRole('button', { name: drawer }).tap();
    const overflow = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      body: document.body.scrollWidth - document.body.clientWidth,
    }));
    expect(overflow, `sideways scroll with ${drawer ?? 'no drawer'} open`).toEqual({ page: 0, body: 0 });
    if (drawer) await page.keyboard.press('Escape');
  }
  await context.close();
});

test('touch targets are at least 44 × 44 px', async ({ browser }) => {
  const { context, page } = await phone(browser);
  await openChat(page);
  await page.getByLabel('Message').fill('something');
  await page.getByRole('button', { name: 'Send' }).tap();
  await expect(replies(page)).toHaveCount(1);
  const small = async () =>
    page.evaluate(() =>
      [...document.querySelectorAll('a, button, input:not([type=hidden]), select, textarea, summary')]
        .filter((el) => {
          const r = el.getBoundingClientRect();
          return r.width > 0 && r.height > 0 && !el.closest('.markdown') && !el.matches('.skip-link');
        })
        .map((el) => {
          const r = el.getBoundingClientRect();
          return { el: `${el.tagName} ${(el.textContent || el.getAttribute('aria-label') || el.id).trim().slice(0, 30)}`, w: Math.round(r.width), h: Math.round(r.height) };
        })
        .filter((t) => t.w < 44 || t.h < 44),
    );
  expect(await small(), 'on the conversation').toEqual([]);
  await page.getByRole('button', { name: 'Chats' }).tap();
  await page.locator('#chats-drawer .manage summary').first().tap();
  expect(await small(), 'in the chats drawer').toEqual([]);
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Settings: Gemma' }).tap();
  expect(await small(), 'in the settings drawer').toEqual([]);
  await context.close();
});

test('on a touch screen Enter is a newline and the Send button sends', async ({ browser }) => {
  const { context, page } = await phone(browser);
  await openChat(page);
  const box = page.getByLabel('Message');
  // No "Enter sends" hint where Enter does not send.
  await expect(box).toHaveAccessibleDescription('');
  await box.tap();
  await page.keyboard.type('first line');
  await page.keyboard.press('Enter');
  await page.keyboard.type('second line');
  await expect(box).toHaveValue('first line\nsecond line');
  await expect(userMessages(page)).toHaveCount(0);
  await page.getByRole('button', { name: 'Send' }).tap();
  await expect(userMessages(page)).toHaveText(['first line\nsecond line']);
  await context.close();
});
