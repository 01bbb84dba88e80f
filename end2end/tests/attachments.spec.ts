import { test, expect, Page } from '@playwright/test';
import { deflateSync } from 'node:zlib';
import { expectAccessible, inFlight, modelRequests, openChat, replies, resetModel, setModel, userMessages } from './helpers';

// A real 3×2 PNG (so the browser draws it), carrying an eXIf chunk with a GPS tag that the
// server must strip before it stores or sends the picture.
function crc32(bytes: Buffer): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(kind: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(kind, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(3, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.concat([0, 1].map(() => Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 255])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('eXIf', Buffer.from('GPSLatitude 48.8584 N')),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
const photo = () => ({ name: 'holiday.png', mimeType: 'image/png', buffer: png() });

/** The pictures the stand-in's last Gemma request carried, as their decoded bytes. */
async function picturesSentToGemma(): Promise<Buffer[]> {
  const seen = await modelRequests('gemma');
  const last = seen[seen.length - 1];
  return last.messages
    .flatMap((m: any) => (Array.isArray(m.content) ? m.content : []))
    .filter((p: any) => p.type === 'image_url')
    .map((p: any) => Buffer.from(p.image_url.url.split(';base64,')[1], 'base64'));
}

async function expectThumbnail(page: Page) {
  const img = userMessages(page).last().locator('.files img');
  await expect(img).toHaveAttribute('alt', 'holiday.png');
  // Drawn: the browser decoded what the server serves.
  await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(3);
  return img;
}

test.beforeEach(async () => {
  await resetModel();
});

const chips = (page: Page) => page.locator('#chips li');
const storedChips = (page: Page) => page.locator('#chips li.stored');

/** Picks files with the composer's picker and waits until each is stored, as a chip. */
async function attach(page: Page, files: Parameters<Page['setInputFiles']>[1]) {
  const before = await storedChips(page).count();
  await page.getByLabel('Attach files').setInputFiles(files);
  const n = Array.isArray(files) ? files.length : 1;
  await expect(storedChips(page)).toHaveCount(before + n);
}

/** Fires a paste or a drop of `files` (and `text`) the way the browser does. */
async function pasteOrDrop(page: Page, how: 'paste' | 'drop', files: { name: string; type: string; base64: string }[], text = '') {
  await page.evaluate(
    ({ how, files, text }) => {
      const data = new DataTransfer();
      for (const f of files) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        data.items.add(new File([bytes], f.name, { type: f.type }));
      }
      if (text) data.setData('text/plain', text);
      const target = how === 'paste' ? document.getElementById('message')! : document.querySelector('main')!;
      const init = { bubbles: true, cancelable: true };
      const ev = how === 'paste'
        ? new ClipboardEvent('paste', { ...init, clipboardData: data })
        : new DragEvent('drop', { ...init, dataTransfer: data });
      target.dispatchEvent(ev);
    },
    { how, files, text },
  );
}

const pngFile = (name: string) => ({ name, type: 'image/png', base64: png().toString('base64') });

test('a picture attached with JavaScript goes up as a chip, reaches Gemma stripped and is there after a reload', async ({ page, browser }) => {
  await openChat(page);
  // Held on its way, the upload shows its progress and Send waits for it.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route('**/api/attach', async (route) => {
    await held;
    await route.continue();
  });
  await page.getByLabel('Message').fill('What is in this picture?');
  await page.getByLabel('Attach files').setInputFiles(photo());
  await expect(page.locator('#chips li.uploading')).toHaveCount(1);
  await expect(page.getByLabel('Uploading holiday.png')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled();
  release();
  await expect(storedChips(page)).toHaveCount(1);
  await page.unroute('**/api/attach');
  await expect(storedChips(page).locator('img')).toHaveAttribute('src', /^\/attachments\/[0-9a-f]{64}$/);
  await expect(storedChips(page)).toContainText('holiday.png');
  await expectAccessible(page, 'the composer with a chip');

  await page.getByLabel('Message').press('Enter');
  await expect(replies(page)).toHaveCount(1);
  await expect(replies(page).first()).toContainText('Echo: What is in this picture?');
  await expect(chips(page)).toHaveCount(0);
  const sent = await picturesSentToGemma();
  expect(sent).toHaveLength(1);
  expect(sent[0].includes('GPSLatitude')).toBeFalsy();
  expect(sent[0].subarray(0, 4).toString('latin1')).toBe('\x89PNG');

  const img = await expectThumbnail(page);
  await expectAccessible(page, 'a transcript with a picture');
  await page.reload();
  await expectThumbnail(page);

  // Both exports list it: name, type, size and link.
  const chat = page.url().split('/c/')[1];
  const json = await (await page.request.get(`/export/${chat}.json`)).json();
  const listed = json.messages[0].attachments[0];
  expect(listed).toMatchObject({ name: 'holiday.png', mime_type: 'image/png', url: await img.getAttribute('src') });
  const markdown = await (await page.request.get(`/export/${chat}.md`)).text();
  expect(markdown).toContain('holiday.png');
  expect(markdown).toContain((await img.getAttribute('src'))!);

  // Served to this browser only: another gets 404.
  const src = (await img.getAttribute('src'))!;
  expect((await page.request.get(src)).status()).toBe(200);
  const other = await browser.newContext();
  const stranger = await other.newPage();
  await stranger.goto('/');
  expect((await stranger.request.get(src)).status()).toBe(404);
  await other.close();
});

test('a picture survives a reload mid-reply, a second tab, and back and forward', async ({ page, context }) => {
  await setModel('gemma', { latency_ms: 3000 });
  await openChat(page);
  await attach(page, photo());
  await page.getByLabel('Message').fill('A slow look at this');
  await page.getByLabel('Message').press('Enter');
  await expect.poll(() => inFlight('gemma')).toBe(1);
  await page.reload();
  const other = await context.newPage();
  await other.goto(page.url());
  await expect(replies(page)).toHaveCount(1, { timeout: 10_000 });
  await expectThumbnail(page);
  await expect(replies(other)).toHaveCount(1, { timeout: 10_000 });
  await expectThumbnail(other);
  // Asked once, with the picture: the reload neither lost the turn nor sent it again.
  expect(await picturesSentToGemma()).toHaveLength(1);
  expect(await modelRequests('gemma')).toHaveLength(1);
  await page.getByRole('link', { name: 'New chat' }).click();
  await expect(userMessages(page)).toHaveCount(0);
  await page.goBack();
  await expectThumbnail(page);
  await other.close();
});

test('Ask both with a picture sends it to each model, each in its own wire', async ({ page }) => {
  await openChat(page);
  await attach(page, photo());
  await page.getByLabel('Message').fill('Compare what you see');
  await page.getByRole('button', { name: 'Ask both' }).click();
  await expect(page.locator('.compare .message.model')).toHaveCount(2);
  expect(await picturesSentToGemma()).toHaveLength(1);
  const gemini = await modelRequests('gemini');
  const parts = gemini[gemini.length - 1].contents.flatMap((c: any) => c.parts);
  expect(parts.filter((p: any) => p.inlineData?.mimeType === 'image/png')).toHaveLength(1);
  await expectThumbnail(page);
});

test('pasted and dropped files become chips, a long paste a text file, and a removed chip is not sent', async ({ page }) => {
  await openChat(page);
  await page.getByLabel('Model').selectOption('gemini');
  await pasteOrDrop(page, 'paste', [pngFile('pasted.png')]);
  await pasteOrDrop(page, 'drop', [pngFile('dropped.png')]);
  // 300,000 characters: the box would have cut them to 32,000 without a word.
  const long = 'Lorem ipsum dolor sit amet. '.repeat(11_000).slice(0, 300_000);
  await pasteOrDrop(page, 'paste', [], long);
  await expect(storedChips(page)).toHaveCount(3);
  await expect(page.getByLabel('Message')).toHaveValue('');
  const text = storedChips(page).filter({ hasText: 'pasted text.txt' });
  await expect(text).toContainText('Your paste of 300,000 characters is longer than a message can be (32,000)');
  await expect(text).toContainText('pasted text.txt, 300 KB');

  // Remove: the chip goes, and focus lands on the next one's Remove.
  await page.getByRole('button', { name: 'Remove dropped.png' }).click();
  await expect(storedChips(page)).toHaveCount(2);
  await expect(page.getByRole('button', { name: 'Remove pasted text.txt' })).toBeFocused();

  // Files alone may be sent: no words needed.
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(replies(page)).toHaveCount(1);
  const gemini = await modelRequests('gemini');
  const parts = gemini[gemini.length - 1].contents.at(-1).parts;
  expect(parts.filter((p: any) => p.inlineData)).toHaveLength(1);
  const words = parts.map((p: any) => p.text ?? '').join('');
  expect(words.startsWith('<file name="pasted text.txt">\nLorem ipsum')).toBeTruthy();
  expect(words.length).toBeGreaterThan(300_000);
  await expect(userMessages(page).last().locator('.files li')).toHaveCount(2);
});

test('a send that fails keeps its words and files in the composer, and the picker says which model reads them', async ({ page }) => {
  await openChat(page);
  await page.getByLabel('Model').selectOption('gemma');
  await attach(page, { name: 'report.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\n%\xe2\xe3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1') });
  await expect(storedChips(page)).toContainText('Gemma cannot read this file.');
  await page.getByLabel('Message').fill('Summarise the report');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Gemma cannot read PDFs' })).toBeVisible();
  // Nothing lost: the words and the stored file wait in the composer, sent again with one click.
  await expect(page.getByLabel('Message')).toHaveValue('Summarise the report');
  await expect(storedChips(page)).toHaveCount(1);
  await expect(storedChips(page)).toBeVisible();
  await page.getByLabel('Model').selectOption('gemini');
  await expect(storedChips(page)).not.toContainText('cannot read');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(replies(page)).toHaveCount(1);
  await expect(chips(page)).toHaveCount(0);
  const gemini = await modelRequests('gemini');
  const parts = gemini[gemini.length - 1].contents.at(-1).parts;
  expect(parts.filter((p: any) => p.inlineData?.mimeType === 'application/pdf')).toHaveLength(1);
  expect(await modelRequests('gemma')).toHaveLength(0);
});

test('an upload cut off says so on its chip, and the words and the other files stay', async ({ page }) => {
  await openChat(page);
  await page.getByLabel('Message').fill('Two pictures');
  await attach(page, photo());
  await page.route('**/api/attach', (route) => route.abort('connectionreset'));
  await page.getByLabel('Attach files').setInputFiles({ ...photo(), name: 'second.png' });
  await expect(page.locator('#chips li.refused').getByRole('alert')).toContainText('cut off');
  await expect(page.getByLabel('Message')).toHaveValue('Two pictures');
  await expect(storedChips(page)).toHaveCount(1);
  await page.unroute('**/api/attach');
  // Send goes with the stored one; the refused chip leaves with it.
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(replies(page)).toHaveCount(1);
  expect(await picturesSentToGemma()).toHaveLength(1);
  await expect(chips(page)).toHaveCount(0);
});

test('on a phone the chips wrap, their Remove is a 44 px target, and nothing scrolls sideways', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 320, height: 640 }, hasTouch: true, isMobile: true });
  const page = await context.newPage();
  await openChat(page);
  await attach(page, [photo(), { ...photo(), name: 'a-picture-with-a-rather-long-name-from-a-camera-roll.png' }]);
  for (const remove of await page.locator('#chips .remove').all()) {
    const box = (await remove.boundingBox())!;
    expect(box.width).toBeGreaterThanOrEqual(44);
    expect(box.height).toBeGreaterThanOrEqual(44);
  }
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
  await expectAccessible(page, 'chips on a phone');
  await context.close();
});

test('a web page named like a picture is refused on its chip, in words, and nothing reaches the model', async ({ page }) => {
  await openChat(page);
  await page.getByLabel('Attach files').setInputFiles({
    name: 'cat.png',
    mimeType: 'image/png',
    buffer: Buffer.from('<!DOCTYPE html><html><script>alert(1)</script></html>'),
  });
  const refused = page.locator('#chips li.refused');
  await expect(refused.getByRole('alert')).toContainText('web page, SVG or XML');
  await expectAccessible(page, 'the composer with a refused file');
  // Refused files are not sent; the message goes without it.
  await page.getByLabel('Message').fill('Look at my cat');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(replies(page)).toHaveCount(1);
  const gemma = await modelRequests('gemma');
  expect(JSON.stringify(gemma.at(-1))).not.toContain('image_url');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the picker posts the picture with the message and the reply shows it', async ({ page }) => {
    await page.goto('/');
    await page.getByLabel('Attach files').setInputFiles(photo());
    await page.getByLabel('Message').fill('Describe it');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page).toHaveURL(/\/c\/[0-9a-f]{64}/);
    // The page refreshes itself until the reply is in.
    await expect(replies(page)).toHaveCount(1, { timeout: 15_000 });
    await expectThumbnail(page);
    expect(await picturesSentToGemma()).toHaveLength(1);
  });

  test('a refused file comes back with its reason and the words still in the box', async ({ page }) => {
    await page.goto('/');
    await page.getByLabel('Model').selectOption('gemma');
    const pdf = Buffer.from('%PDF-1.7\n%\xe2\xe3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1');
    await page.getByLabel('Attach files').setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: pdf });
    await page.getByLabel('Message').fill('Summarise this report, please');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'Gemma cannot read PDFs' })).toBeVisible();
    await expect(page.getByLabel('Message')).toHaveValue('Summarise this report, please');
    expect(await modelRequests('gemma')).toHaveLength(0);
    // Sent again without the file (or to Gemini), the words go as they are.
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(replies(page)).toHaveCount(1, { timeout: 15_000 });
    await expect(userMessages(page).last()).toContainText('Summarise this report, please');
  });
});
