import { test, expect, Page } from '@playwright/test';
import { deflateSync } from 'node:zlib';
import { expectAccessible, modelRequests, openChat, replies, resetModel, userMessages } from './helpers';

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

test('a picture attached with JavaScript reaches Gemma stripped and is there after a reload', async ({ page, browser }) => {
  await openChat(page);
  await page.getByLabel('Attach files').setInputFiles(photo());
  await page.getByLabel('Message').fill('What is in this picture?');
  await page.getByLabel('Message').press('Enter');
  await expect(replies(page)).toHaveCount(1);
  await expect(replies(page).first()).toContainText('Echo: What is in this picture?');
  const sent = await picturesSentToGemma();
  expect(sent).toHaveLength(1);
  expect(sent[0].includes('GPSLatitude')).toBeFalsy();
  expect(sent[0].subarray(0, 4).toString('latin1')).toBe('\x89PNG');

  const img = await expectThumbnail(page);
  await expectAccessible(page, 'a transcript with a picture');
  await page.reload();
  await expectThumbnail(page);

  // Served to this browser only: another gets 404.
  const src = (await img.getAttribute('src'))!;
  expect((await page.request.get(src)).status()).toBe(200);
  const other = await browser.newContext();
  const stranger = await other.newPage();
  await stranger.goto('/');
  expect((await stranger.request.get(src)).status()).toBe(404);
  await other.close();
});

test('Ask both with a picture sends it to each model, each in its own wire', async ({ page }) => {
  await openChat(page);
  await page.getByLabel('Attach files').setInputFiles(photo());
  await page.getByLabel('Message').fill('Compare what you see');
  await page.getByRole('button', { name: 'Ask both' }).click();
  await expect(page.locator('.compare .message.model')).toHaveCount(2);
  expect(await picturesSentToGemma()).toHaveLength(1);
  const gemini = await modelRequests('gemini');
  const parts = gemini[gemini.length - 1].contents.flatMap((c: any) => c.parts);
  expect(parts.filter((p: any) => p.inlineData?.mimeType === 'image/png')).toHaveLength(1);
  await expectThumbnail(page);
});

test('a web page named like a picture is refused, in words, and nothing reaches the model', async ({ page }) => {
  await openChat(page);
  await page.getByLabel('Attach files').setInputFiles({
    name: 'cat.png',
    mimeType: 'image/png',
    buffer: Buffer.from('<!DOCTYPE html><html><script>alert(1)</script></html>'),
  });
  await page.getByLabel('Message').fill('Look at my cat');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('alert')).toContainText('web page, SVG or XML');
  expect(await modelRequests('gemma')).toHaveLength(0);
  await expectAccessible(page, 'the composer with a refusal');
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
});
