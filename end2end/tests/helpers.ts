import { expect, Page } from '@playwright/test';

const standin = () => process.env.STANDIN_URL!;

export type Backend = 'gemma' | 'gemini';

export type Behaviour = {
  latency_ms?: number;
  fault?:
    | 'status500'
    | 'status429'
    | 'malformed'
    | 'empty'
    | 'hang'
    | 'oversized'
    | 'safety_block'
    | 'reply_safety'
    | 'max_tokens_no_text';
  fault_times?: number;
  reply?: string;
  unhealthy?: boolean;
};

export async function resetModel() {
  expect((await fetch(`${standin()}/_standin/reset`, { method: 'POST' })).ok).toBeTruthy();
}

export async function setModel(backend: Backend, b: Behaviour) {
  const r = await fetch(`${standin()}/_standin/behaviour/${backend}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(b),
  });
  expect(r.ok).toBeTruthy();
}

/** Every request a backend of the stand-in received, oldest first. */
export async function modelRequests(backend: Backend = 'gemma'): Promise<any[]> {
  return (await fetch(`${standin()}/_standin/requests/${backend}`)).json();
}

/** Opens the page and waits until the wasm has hydrated it. */
export async function openChat(page: Page) {
  await page.goto('/');
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
}

export async function send(page: Page, text: string) {
  await page.getByLabel('Message').fill(text);
  await page.getByLabel('Message').press('Enter');
}

export const replies = (page: Page) => page.locator('.message.model');
export const userMessages = (page: Page) => page.locator('.message.user:not(.pending)');
