import { test, expect, Page } from '@playwright/test';
import { expectAccessible, modelRequests, openChat, replies, resetModel, send, setModel } from './helpers';

// The last turn can be asked again (Regenerate, the other model, both), a cut-off reply
// continued, and an "Ask both" keeps the answer that came when the other model fails. The
// actions are plain forms: the same with JavaScript on and off.

test.beforeEach(async () => {
  await resetModel();
});

const actions = (page: Page) => page.getByRole('group', { name: 'This turn' });
const action = (page: Page, name: string) => actions(page).getByRole('button', { name, exact: true });

test('Regenerate, Ask Gemini and Both models add replies side by side; the next turn sends the newest', async ({ page }) => {
  await openChat(page);
  await send(page, 'first question');
  await expect(replies(page)).toHaveCount(1);

  await setModel('gemma', { reply: 'gemma, once more' });
  await action(page, 'Regenerate').click();
  await expect(replies(page)).toHaveCount(2);
  await expect(page.locator('.compare .message.model')).toHaveCount(2);
  await expect(replies(page).nth(1)).toContainText('gemma, once more');

  await action(page, 'Ask Gemini').click();
  await expect(replies(page)).toHaveCount(3);
  await expect(replies(page).nth(2)).toHaveAttribute('data-model', 'gemini');
  await action(page, 'Both models').click();
  await expect(replies(page)).toHaveCount(5);
  await expectAccessible(page, 'a turn asked again, with its actions');

  // The next message: the earlier turn's actions are gone, and Gemma gets its newest reply.
  await setModel('gemma', {});
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await send(page, 'second question');
  await expect(replies(page)).toHaveCount(6);
  // Only the last turn's actions are shown (and in the accessibility tree).
  await expect(page.locator('.turn-actions')).toHaveCount(2);
  await expect(page.locator('.turn-actions').first()).toBeHidden();
  await expect(actions(page)).toHaveCount(1);
  const last = (await modelRequests('gemma')).at(-1);
  expect(last.messages.map((m: any) => m.content)).toEqual([
    'first question',
    'gemma, once more',
    'second question',
  ]);
});

test('Ask both keeps the answer that came, and asks just the failed model again', async ({ page }) => {
  await setModel('gemini', { fault: 'status500', fault_times: 1 });
  await openChat(page);
  await page.getByLabel('Message').fill('both, please');
  await page.getByRole('button', { name: 'Ask both' }).click();
  await expect(replies(page)).toHaveCount(1);
  await expect(replies(page).first()).toHaveAttribute('data-model', 'gemma');
  await expect(page.locator('.message.user .turn-note')).toContainText('Only one model answered');
  await expect(page.locator('.error')).toHaveCount(0);
  await action(page, 'Ask Gemini').click();
  await expect(replies(page)).toHaveCount(2);
  await expect(page.locator('.compare .message.model[data-model="gemini"]')).toContainText('Gemini echo: both, please');
  await expect(page.locator('.message.user .turn-note')).toHaveCount(0);
});

test('a cut-off reply says so, and Continue asks the same model to go on', async ({ page }) => {
  await setModel('gemma', { fault: 'cut_off', fault_times: 1 });
  await openChat(page);
  await send(page, 'tell me everything');
  await expect(page.locator('.cut-off')).toBeVisible();
  await action(page, 'Continue').click();
  await expect(replies(page)).toHaveCount(2);
  const last = (await modelRequests('gemma')).at(-1);
  expect(last.messages.at(-1).content).toBe('Continue from where you stopped.');
  expect(last.messages.at(0).content).toBe('tell me everything');
});

test('the last message can be edited and sent again; the old one stays, marked, out of the prompt', async ({ page }) => {
  await openChat(page);
  await send(page, 'what is a pdo');
  await expect(replies(page)).toHaveCount(1);
  // The edit is typed before the Edit link's page hydrates (its wasm is held back until then):
  // hydration keeps what was typed rather than the words the page was served with. CI once sent
  // the old words so.
  let typed!: () => void;
  const held = new Promise<void>((resolve) => (typed = resolve));
  await page.route('**/*.wasm', async (route) => {
    await held;
    await route.continue();
  });
  await page.getByRole('link', { name: 'Edit', exact: true }).click();
  await expect(page.getByLabel('Message')).toHaveValue('what is a pdo');
  await expect(page.getByLabel('Message')).toBeFocused();
  await expect(page.locator('.editing')).toContainText('Editing your last message');
  await expect(page.locator('main.app')).not.toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('Message').fill('what is a PodDisruptionBudget');
  typed();
  await expect(page.locator('main.app')).toHaveAttribute('data-hydrated', 'true');
  await page.unroute('**/*.wasm');
  await expect(page.getByLabel('Message')).toHaveValue('what is a PodDisruptionBudget');
  await page.getByLabel('Message').press('Enter');
  await expect(replies(page)).toHaveCount(2);
  await expect(page.locator('.message.user[data-status="replaced"]')).toContainText('Edited');
  await expect(page.locator('.editing')).toBeHidden();
  const last = (await modelRequests('gemma')).at(-1);
  expect(last.messages.map((m: any) => m.content)).toEqual(['what is a PodDisruptionBudget']);
  // Only the last message offers Edit.
  await expect(page.getByRole('link', { name: 'Edit', exact: true })).toHaveCount(1);
  await expectAccessible(page, 'a chat with an edited message');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a failed turn is asked of the other model, and a reply regenerated', async ({ page }) => {
    await setModel('gemma', { fault: 'status500', fault_times: 1 });
    await page.goto('/');
    await page.getByLabel('Message').fill('no script here');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.locator('.message.user[data-status="failed"]')).toBeVisible({ timeout: 10_000 });
    await action(page, 'Ask Gemini').click();
    await expect(replies(page)).toHaveCount(1, { timeout: 10_000 });
    await expect(replies(page).first()).toHaveAttribute('data-model', 'gemini');
    await action(page, 'Regenerate').click();
    await expect(replies(page)).toHaveCount(2, { timeout: 10_000 });
    await expect(page.locator('.compare .message.model[data-model="gemini"]')).toHaveCount(2);

    // Edit: a link to the chat with the words in the message box.
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await expect(page).toHaveURL(/\?edit=0$/);
    await expect(page.getByLabel('Message')).toHaveValue('no script here');
    await page.getByLabel('Message').fill('no script, edited');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.locator('.message.user[data-status="replaced"]')).toHaveCount(1, { timeout: 10_000 });
    await expect(replies(page).last()).toContainText('Echo: no script, edited', { timeout: 10_000 });
  });
});
