import { test, expect } from '@playwright/test';
import { modelRequests, openChat, replies, resetModel, send, setModel, userMessages } from './helpers';

test.beforeEach(async () => {
  await resetModel();
});

test('two messages get two whole replies, labelled with their model', async ({ page }) => {
  await openChat(page);
  const sendButton = page.getByRole('button', { name: 'Send' });
  await expect(sendButton).toBeDisabled(); // blank draft

  await send(page, 'Hello there');
  await expect(replies(page)).toHaveCount(1);
  await expect(replies(page).first()).toContainText('Echo: Hello there');
  await expect(replies(page).first().locator('.author')).toContainText('Gemma 3 12B-it (vLLM)');
  // The stand-in counts as vLLM does: the prompt through Gemma's template (2 words + 6 template
  // tokens) and the 3-word answer.
  // Then what it cost: its share of Gemma's GPU time.
  await expect(replies(page).first().locator('.meta')).toHaveText(/^\d+\.\d s · 11 tokens · ≈ \$\d+\.\d+ of GPU time$/);
  await expect(page.getByLabel('Message')).toHaveValue('');

  // Shift+Enter is a newline, not a send; the button sends.
  await page.getByLabel('Message').fill('line one');
  await page.getByLabel('Message').press('Shift+Enter');
  await page.getByLabel('Message').pressSequentially('line two');
  await expect(replies(page)).toHaveCount(1);
  await sendButton.click();
  await expect(replies(page)).toHaveCount(2);
  await expect(userMessages(page).nth(1)).toHaveText('line one\nline two');

  const seen = await modelRequests();
  expect(seen).toHaveLength(2);
  expect(seen[1].messages.map((m: any) => m.content)).toEqual([
    'Hello there',
    'Echo: Hello there',
    'line one\nline two',
  ]);
});

test('a working indicator shows while the model thinks, and sending is blocked (Send is Stop)', async ({ page }) => {
  await setModel('gemma', { latency_ms: 1500 });
  await openChat(page);
  await send(page, 'take your time');
  await expect(page.locator('.working')).toContainText('Gemma is thinking');
  await expect(page.locator('.message.user.pending')).toContainText('take your time');
  await page.getByLabel('Message').fill('impatient');
  // Send is Stop while the reply is on its way.
  await expect(page.getByRole('button', { name: 'Send' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Ask both' })).toBeDisabled();
  await expect(replies(page)).toHaveCount(1);
  await expect(page.locator('.working')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
});

test('switching model mid-conversation carries the history both ways', async ({ page }) => {
  await openChat(page);
  const picker = page.getByLabel('Model');
  await expect(picker).toHaveValue('gemma');
  await send(page, 'hello gemma');
  await expect(replies(page)).toHaveCount(1);

  await picker.selectOption('gemini');
  await send(page, 'hello gemini');
  await expect(replies(page)).toHaveCount(2);
  await expect(replies(page).nth(1)).toContainText('Gemini echo: hello gemini');
  await expect(replies(page).nth(1).locator('.author')).toContainText('Gemini 2.5 Flash (Vertex AI)');
  const [toGemini] = await modelRequests('gemini');
  expect(toGemini.contents.map((c: any) => [c.role, c.parts[0].text])).toEqual([
    ['user', 'hello gemma'],
    ['model', 'Echo: hello gemma'],
    ['user', 'hello gemini'],
  ]);

  await picker.selectOption('gemma');
  await send(page, 'back to gemma');
  await expect(replies(page)).toHaveCount(3);
  const toGemma = (await modelRequests('gemma'))[1];
  expect(toGemma.messages.map((m: any) => m.content)).toEqual([
    'hello gemma',
    'Echo: hello gemma',
    'hello gemini',
    'Gemini echo: hello gemini',
    'back to gemma',
  ]);
  await page.reload();
  await expect(page.getByLabel('Model')).toHaveValue('gemma');
  await expect(replies(page)).toHaveCount(3);
});

test('when Gemma fails, one click sends the message to Gemini instead', async ({ page }) => {
  await setModel('gemma', { fault: 'status500' });
  await openChat(page);
  await send(page, 'are you there?');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Gemma had an internal error');
  await alert.getByRole('button', { name: 'Send to Gemini instead' }).click();
  await expect(replies(page)).toHaveCount(1);
  await expect(replies(page).first()).toContainText('Gemini echo: are you there?');
  await expect(page.getByLabel('Model')).toHaveValue('gemini');
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('Ask both shows the two answers side by side with latency and tokens', async ({ page }) => {
  await openChat(page);
  await page.getByLabel('Message').fill('compare yourselves');
  await page.getByRole('button', { name: 'Ask both' }).click();
  const pair = page.locator('.compare .message.model');
  await expect(pair).toHaveCount(2);
  await expect(pair.nth(0)).toContainText('Echo: compare yourselves');
  await expect(pair.nth(1)).toContainText('Gemini echo: compare yourselves');
  await expect(pair.nth(0).locator('.meta')).toContainText(/\d+\.\d s · \d+ tokens/);
  await expect(pair.nth(1).locator('.meta')).toContainText(/tokens/);
  const box = async (i: number) => (await pair.nth(i).boundingBox())!;
  expect((await box(1)).x).toBeGreaterThan((await box(0)).x + 100); // side by side

  await page.reload();
  await expect(page.locator('.compare .message.model')).toHaveCount(2);
});

test('a blocked Gemini prompt says so in words', async ({ page }) => {
  await setModel('gemini', { fault: 'safety_block', fault_times: 1 });
  await openChat(page);
  await page.getByLabel('Model').selectOption('gemini');
  await send(page, 'something edgy');
  await expect(page.getByRole('alert')).toContainText('Gemini did not answer this message: its safety filters flagged it');
  await expect(page.getByLabel('Message')).toHaveValue('something edgy');
});

test('sliders show their values, reach the model, and survive a reload', async ({ page }) => {
  await openChat(page);
  await page.locator('#temperature').fill('0.3');
  await page.locator('#top_p').fill('0.5');
  await page.locator('#max_tokens').fill('256');
  await expect(page.locator('#temperature-value')).toHaveText('0.30');
  await expect(page.locator('#top_p-value')).toHaveText('0.50');
  await expect(page.locator('#max_tokens-value')).toHaveText('256');

  await send(page, 'tuned');
  await expect(replies(page)).toHaveCount(1);
  const [request] = await modelRequests();
  expect(request.temperature).toBeCloseTo(0.3, 5);
  expect(request.top_p).toBeCloseTo(0.5, 5);
  expect(request.max_tokens).toBe(256);

  await page.reload();
  await expect(page.locator('#temperature-value')).toHaveText('0.30');
  await expect(page.locator('#max_tokens-value')).toHaveText('256');
});

test('a reload renders the conversation in the HTML, then hydrates and keeps working', async ({ page, context }) => {
  await openChat(page);
  await send(page, 'remember me');
  await expect(replies(page)).toHaveCount(1);

  // The chat has its own address now, and the server's HTML for it already holds the
  // conversation: no flash of an empty chat.
  await expect(page).toHaveURL(/\/c\/[0-9a-f]{64}$/);
  const html = await (await context.request.get(page.url())).text();
  expect(html).toContain('remember me');
  expect(html).toContain('Echo: remember me');

  let serverFnCalls = 0;
  page.on('request', (r) => {
    if (r.url().includes('/api/')) serverFnCalls++;
  });
  await page.reload();
  await expect(userMessages(page)).toHaveCount(1);
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(replies(page).first()).toContainText('Echo: remember me');
  expect(serverFnCalls).toBe(0); // hydration needed no second fetch

  await send(page, 'still here?');
  await expect(replies(page)).toHaveCount(2);
  const seen = await modelRequests();
  expect(seen[1].messages).toHaveLength(3);
});

test('New chat starts a fresh session', async ({ page }) => {
  await openChat(page);
  await send(page, 'old topic');
  await expect(replies(page)).toHaveCount(1);

  await page.getByRole('link', { name: 'New chat' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(replies(page)).toHaveCount(0);
  await expect(page.locator('.empty')).toBeVisible();
  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(replies(page)).toHaveCount(0);

  await send(page, 'new topic');
  await expect(replies(page)).toHaveCount(1);
  const seen = await modelRequests();
  expect(seen[1].messages).toEqual([{ role: 'user', content: 'new topic' }]);
});

test('a failing backend shows an error, keeps the text, and Retry succeeds', async ({ page }) => {
  await setModel('gemma', { fault: 'status500', fault_times: 1 });
  await openChat(page);
  await send(page, 'please work');

  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Gemma had an internal error');
  await expect(page.getByLabel('Message')).toHaveValue('please work');
  await expect(replies(page)).toHaveCount(0);

  await alert.getByRole('button', { name: 'Retry' }).click();
  await expect(replies(page)).toHaveCount(1);
  await expect(replies(page).first()).toContainText('Echo: please work');
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(userMessages(page)).toHaveCount(1);
  await expect(page.getByLabel('Message')).toHaveValue('');
});

test('an XSS payload in a reply is shown as text and never runs', async ({ page }) => {
  const payload =
    'Look: <script>window.__xss = 1</script> <img src=x onerror="window.__xss = 2"> ' +
    '[click](javascript:window.__xss=3) **bold**';
  await setModel('gemma', { reply: payload });
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  await openChat(page);
  await send(page, 'attack');
  const reply = replies(page).first();
  await expect(reply).toContainText('<script>window.__xss = 1</script>');
  await expect(reply.locator('strong')).toHaveText('bold');
  await expect(reply.locator('script, img')).toHaveCount(0);
  await reply.getByText('click').click();
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();

  await page.reload(); // the server-rendered path too
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(replies(page).first()).toContainText('<script>');
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
  expect(dialogs).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the page shows the conversation and a plain form post sends a message', async ({ page }) => {
    await page.goto('/');
    await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
    await page.getByLabel('Message').fill('no script needed');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(replies(page)).toHaveCount(1);
    await expect(replies(page).first()).toContainText('Echo: no script needed');

    // The first message gave the chat its address; the form now carries it.
    await expect(page).toHaveURL(/\/c\/[0-9a-f]{64}$/);
    const chat = page.url();
    await page.getByLabel('Message').fill('again');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(replies(page)).toHaveCount(2);
    const seen = await modelRequests();
    expect(seen[1].messages).toHaveLength(3);

    // New chat is a link to `/`; the old chat keeps its address, listed in the sidebar.
    await page.getByRole('link', { name: 'New chat' }).click();
    await expect(replies(page)).toHaveCount(0);
    await page.locator('nav.sessions').getByRole('link', { name: 'no script needed' }).click();
    await expect(page).toHaveURL(chat);
    await expect(replies(page)).toHaveCount(2);
  });
});

test('a forged owner cookie is nobody: the page issues a signed one and chatting works', async ({ page, context, baseURL }) => {
  await context.addCookies([{ name: 'hc_owner', value: 'ab'.repeat(32), url: baseURL! }]);
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(replies(page)).toHaveCount(0);
  await send(page, 'hi');
  await expect(replies(page)).toHaveCount(1);
  const cookie = (await context.cookies()).find((c) => c.name === 'hc_owner');
  expect(cookie?.value).toMatch(/^[0-9a-f]{64}\.[0-9a-f]{32}$/);
  expect(cookie?.value.startsWith('ab'.repeat(32))).toBe(false);
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe('Lax');
});

test('the page hydrates and chats under its Content-Security-Policy, with no violations', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  const response = await page.goto('/');
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self' 'nonce-");
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await setModel('gemma', { reply: 'An image: ![x](https://tracker.example/pixel.png) and `code`' });
  await send(page, 'csp');
  await expect(replies(page)).toHaveCount(1);
  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  // The remote image in the reply is refused by img-src; everything of ours loads.
  expect(violations.filter((v) => !v.includes('tracker.example'))).toEqual([]);
});

test('the picker follows where each model stands, without a reload', async ({ page }) => {
  // Two waits of up to 25 s each (the page asks every 10 s): a timeout of its own.
  test.setTimeout(75_000);
  await setModel('gemma', { unhealthy: true });
  await openChat(page);
  const gemma = page.locator('#model option[value="gemma"]');
  // The server's probe notices within a second; the page asks every 10 s.
  await expect(page.getByLabel('Model')).toHaveAccessibleDescription(/Gemma/, { timeout: 25_000 });
  await expect(gemma).toContainText('unreachable');
  await setModel('gemma', {});
  await expect(page.getByLabel('Model')).toHaveAccessibleDescription('', { timeout: 25_000 });
  await expect(gemma).not.toContainText('unreachable');
  await expect(page.locator('.model-status')).toHaveCount(0);
});

test('a turn\'s answer refreshes the picker at once, not at the next tick', async ({ page }) => {
  await openChat(page);
  const gemma = page.locator('#model option[value="gemma"]');
  await expect(gemma).not.toContainText('unreachable');
  // Within the first 10 s of the page, before its periodic ask: Gemma goes down (the server's
  // probe notices within a second), and a Gemini turn's answer brings the news.
  await setModel('gemma', { unhealthy: true });
  // Once the server's probe has noticed (asked apart from the page, which must not learn it yet).
  await expect.poll(async () => (await page.request.get('/')).text()).toContain('— unreachable');
  await page.getByLabel('Model').selectOption('gemini');
  await send(page, 'is gemma up?');
  await expect(replies(page)).toHaveCount(1);
  await expect(gemma).toContainText('unreachable', { timeout: 3_000 });
});
