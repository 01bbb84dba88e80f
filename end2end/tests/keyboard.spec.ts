// Keyboard only: a skip link to the message box, focus that stays in the composer through a
// turn, visible focus, and the sidebar's actions without a mouse.
import { test, expect, Page } from '@playwright/test';
import { openChat, replies, resetModel, send, setModel, userMessages } from './helpers';

test.beforeEach(async () => {
  await resetModel();
});

const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id ?? '');

test('from the top, the skip link reaches the message box; focus stays there through a turn', async ({ page }) => {
  await openChat(page);
  await page.locator('body').focus();
  let presses = 0;
  await page.keyboard.press('Tab');
  presses++;
  const skip = page.getByRole('link', { name: 'Skip to the message box' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport(); // shown while focused
  await page.keyboard.press('Enter');
  presses++;
  await expect(page.getByLabel('Message')).toBeFocused();
  expect(presses).toBeLessThanOrEqual(3);
  await expect(page.getByLabel('Message')).toHaveAccessibleDescription(
    'Enter sends, Shift+Enter adds a line.',
  );

  await setModel('gemma', { latency_ms: 800 });
  await page.keyboard.type('typed without a mouse');
  await page.keyboard.press('Enter');
  await expect(page.locator('.working')).toBeVisible();
  await expect(page.getByLabel('Message')).toBeFocused();
  await expect(replies(page)).toHaveCount(1);
  // The reply arrived and took nothing: the caret is still in the box.
  expect(await focusedId(page)).toBe('message');
  await page.keyboard.type('and more');
  await expect(page.getByLabel('Message')).toHaveValue('and more');
});

test('Send pressed from the keyboard leaves focus in the message box, not on the page', async ({ page }) => {
  await openChat(page);
  await page.getByLabel('Message').fill('via the button');
  await page.getByLabel('Message').press('Tab');
  await expect(page.getByRole('button', { name: 'Send' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Message')).toBeFocused();
  await expect(replies(page)).toHaveCount(1);
  await expect(page.getByLabel('Message')).toBeFocused();

  // The same for Ask both, pressed with Space.
  await page.getByLabel('Message').fill('both via the keyboard');
  await page.getByLabel('Message').press('Tab');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Ask both' })).toBeFocused();
  await page.keyboard.press('Space');
  await expect(page.locator('.compare .message.model')).toHaveCount(2);
  await expect(page.getByLabel('Message')).toBeFocused();
});

test('every control shows where focus is', async ({ page }) => {
  await openChat(page);
  await send(page, 'something to manage');
  await expect(replies(page)).toHaveCount(1);
  const seen = new Set<string>();
  // Walk the whole tab order once; each stop must draw an outline.
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      return {
        what: `${el.tagName.toLowerCase()}#${el.id}.${el.className}:${(el.textContent ?? '').trim().slice(0, 20)}`,
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      };
    });
    if (!stop) continue;
    if (seen.has(stop.what)) break;
    seen.add(stop.what);
    expect(stop.outline, `focus ring on ${stop.what}`).toBe(true);
  }
  expect(seen.size).toBeGreaterThan(8);
});

test('the sidebar: open, rename and download a chat from the keyboard', async ({ page }) => {
  await openChat(page);
  await send(page, 'keyboard chat');
  await expect(replies(page)).toHaveCount(1);
  await page.getByRole('link', { name: 'New chat' }).focus();
  await page.keyboard.press('Enter');
  await expect(replies(page)).toHaveCount(0);
  await expect(page.getByLabel('Message')).toBeFocused();

  await page.locator('.session-title').first().focus();
  await page.keyboard.press('Enter');
  await expect(userMessages(page)).toHaveText(['keyboard chat']);

  const manage = page.locator('.session .manage summary').first();
  await manage.focus();
  await page.keyboard.press('Enter');
  const name = page.getByLabel('New name');
  await expect(name).toBeVisible();
  await page.keyboard.press('Tab');
  await expect(name).toBeFocused();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('Renamed by keys');
  await page.keyboard.press('Enter');
  await expect(page.locator('.session-title').first()).toHaveText('Renamed by keys');
  await expect(page.getByRole('heading', { level: 2 }).last()).toHaveText('Renamed by keys');

  // The entry is drawn anew with its new name; focus lands on it, not on the page.
  await expect(page.locator('.session-title').first()).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(manage).toBeFocused();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab'); // the name
  await page.keyboard.press('Tab'); // Rename
  await page.keyboard.press('Tab'); // Markdown
  await expect(page.getByRole('link', { name: 'Markdown' })).toBeFocused();
  const download = page.waitForEvent('download');
  await page.keyboard.press('Enter');
  expect((await download).suggestedFilename()).toMatch(/\.md$/);
});
