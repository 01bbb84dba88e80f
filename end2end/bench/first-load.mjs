// Benchmark (not a test): time from navigation to an interactive (hydrated) composer in Debian
// Chromium, with the requests and bytes on the wire. Each run uses a fresh browser context, so
// nothing is cached. Prints one JSON object with the medians.
// Usage: node first-load.mjs URL [RUNS] [COOKIE_HEADER]
import { chromium } from '@playwright/test';

const [url, runsArg, cookie] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const samples = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext(
    cookie ? { extraHTTPHeaders: { cookie } } : {},
  );
  const page = await context.newPage();
  const sizes = [];
  page.on('requestfinished', (req) => sizes.push(req.sizes()));
  await page.goto(url);
  // The composer is interactive once the wasm has hydrated the page (`data-hydrated`).
  const handle = await page.waitForFunction(
    () => document.querySelector('main[data-hydrated="true"]') && performance.now(),
    null,
    { polling: 'raf' },
  );
  const interactive = await handle.jsonValue();
  await page.waitForLoadState('networkidle');
  const all = await Promise.all(sizes);
  const bytes = all.reduce((n, s) => n + s.responseBodySize + s.responseHeadersSize, 0);
  samples.push({ interactive_ms: interactive, requests: all.length, bytes });
  await context.close();
}
await browser.close();
const median = (key) => {
  const v = samples.map((s) => s[key]).sort((a, b) => a - b);
  return v[Math.floor((v.length - 1) / 2)];
};
console.log(JSON.stringify({
  runs,
  interactive_ms: Math.round(median('interactive_ms') * 10) / 10,
  requests: median('requests'),
  bytes: median('bytes'),
}));
