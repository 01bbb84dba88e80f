// Benchmark (not a test): Lighthouse's four category scores for a page, in Debian Chromium with
// Lighthouse's default mobile preset (a mid-range phone, simulated slow 4G and 4x CPU slowdown).
// Each run is a fresh browser; the median of each category is printed as one JSON object, with
// the audits that did not pass in any run.
// Usage: node lighthouse.mjs URL [RUNS] [COOKIE_HEADER]
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';

const [url, runsArg, cookie] = process.argv.slice(2);
const runs = Number(runsArg ?? 3);
const categories = ['performance', 'accessibility', 'best-practices', 'seo'];
const scores = Object.fromEntries(categories.map((c) => [c, []]));
const failing = new Set();
for (let i = 0; i < runs; i++) {
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const { lhr } = await lighthouse(url, {
      port: chrome.port,
      output: 'json',
      logLevel: 'error',
      onlyCategories: categories,
      extraHeaders: cookie ? { cookie } : undefined,
    });
    for (const c of categories) scores[c].push(Math.round(lhr.categories[c].score * 100));
    for (const c of categories) {
      for (const ref of lhr.categories[c].auditRefs) {
        const audit = lhr.audits[ref.id];
        if (ref.weight > 0 && audit.score !== null && audit.score < 1) failing.add(`${c}: ${ref.id}`);
      }
    }
  } finally {
    await chrome.kill();
  }
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
console.log(JSON.stringify({
  runs,
  performance: median(scores.performance),
  accessibility: median(scores.accessibility),
  best_practices: median(scores['best-practices']),
  seo: median(scores.seo),
  not_passed: [...failing].sort(),
}));
