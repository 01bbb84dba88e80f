import { expect, Page } from '@playwright/test';
import { readFileSync } from 'node:fs';

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
    | 'max_tokens_no_text'
    | 'cut_off';
  fault_times?: number;
  reply?: string;
  unhealthy?: boolean;
  /** Gemma: requests vLLM's /metrics reports waiting (other replicas' load). */
  queue_waiting?: number;
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

/** Requests a backend of the stand-in is serving now (a dropped request leaves at once). */
export async function inFlight(backend: Backend = 'gemma'): Promise<number> {
  const stats = await (await fetch(`${standin()}/_standin/stats`)).json();
  return stats.in_flight[backend] ?? 0;
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

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core in the page and fails on any violation, of any impact, listing each rule and
 * the elements it found. The script is evaluated through the DevTools protocol, so the page's
 * CSP (which forbids inline scripts) stays as it is.
 */
export async function expectAccessible(page: Page, what: string) {
  await page.evaluate(axeSource);
  const violations: any[] = await page.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  });
  const report = violations.map(
    (v) =>
      `${v.impact} ${v.id}: ${v.help}\n` +
      v.nodes.map((n: any) => `    ${n.target.join(' ')}: ${n.failureSummary}`).join('\n'),
  );
  expect(report, `axe-core violations on ${what}`).toEqual([]);
}

/** The text of the page's one polite live region. */
export const announcer = (page: Page) => page.locator('[data-announcer]');
