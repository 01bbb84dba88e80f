import { test, expect } from '@playwright/test';
import { expectAccessible, openChat, replies, resetModel, send, setModel } from './helpers';

// Code and math in a reply are rendered on the server: highlighted code (classes coloured by
// the stylesheet, in light and dark schemes) and MathML, so both work without JavaScript.

const REPLY = [
  'Here is Rust:',
  '',
  '```rust',
  'fn main() {',
  '    let greeting = "hello"; // say it',
  '}',
  '```',
  '',
  'and the golden ratio $\\varphi = \\frac{1 + \\sqrt{5}}{2}$, or on its own:',
  '',
  '$$\\sum_{n=1}^{\\infty} \\frac{1}{n^2} = \\frac{\\pi^2}{6}$$',
].join('\n');

test.beforeEach(async () => {
  await resetModel();
  await setModel('gemma', { reply: REPLY });
});

for (const scheme of ['light', 'dark'] as const) {
  test(`a reply's code is highlighted and its math is MathML (${scheme})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await openChat(page);
    await send(page, 'show me code and math');
    const reply = replies(page).first();
    await expect(reply.locator('pre code .hl-comment')).toHaveText('// say it');
    await expect(reply.locator('pre code .hl-string').first()).toContainText('hello');
    // The stylesheet colours them apart from the plain code around them.
    const color = (sel: string) => reply.locator(sel).first().evaluate((el) => getComputedStyle(el).color);
    expect(await color('pre code .hl-comment')).not.toBe(await color('pre code'));
    expect(await color('pre code .hl-string')).not.toBe(await color('pre code .hl-comment'));
    await expect(reply.locator('math mfrac').first()).toBeAttached();
    await expect(reply.locator('math[display="block"] munderover, math[display="block"] msubsup').first()).toBeAttached();
    await expectAccessible(page, `highlighted code and math (${scheme})`);
  });
}

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the page itself carries the highlighted code and the MathML', async ({ page }) => {
    await page.goto('/');
    await page.getByLabel('Message').fill('show me code and math, no script');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect(replies(page)).toHaveCount(1, { timeout: 10_000 });
    // The HTML as served, not a DOM a script built.
    const html = await (await page.request.get(page.url())).text();
    expect(html).toContain('<span class="hl-');
    expect(html).toContain('<math');
    expect(html).toContain('<mfrac>');
    await expect(replies(page).first().locator('pre code .hl-comment')).toHaveText('// say it');
  });
});
