// docs/website-snippet.html in headless Chromium, on a page of another origin
// than Keysat's, driven by tests/integration/cors.rs:
//   node website-snippet.mjs <page-url> <keysat-base> listed|unlisted
// listed: the page's origin is in Keysat's cors_origins — the tiers show
// (names, prices), nothing is logged as an error, and Buy opens Keysat's
// checkout. unlisted: the browser keeps the page from reading the catalogue
// (CORS) and the box falls back to a link to Keysat's own buy page.
// Prints one line `RESULT <json>`; exits non-zero on a failure.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const [pageUrl, keysat, mode] = process.argv.slice(2);
if (!pageUrl || !keysat || !['listed', 'unlisted'].includes(mode)) {
  console.error('usage: node website-snippet.mjs <page-url> <keysat-base> listed|unlisted');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.KEYSAT_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
const result = { mode, tiers: [], errors: [], checkout: null };
try {
  const context = await browser.newContext();
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.errors.push(m.text()); });
  page.on('pageerror', (e) => result.errors.push(`uncaught: ${e.message}`));
  await page.goto(pageUrl);
  if (mode === 'listed') {
    await page.locator('.keysat-tier').first().waitFor();
    result.tiers = await page.locator('.keysat-tier').evaluateAll((cards) => cards.map((c) => ({
      slug: c.getAttribute('data-tier'),
      name: c.querySelector('.keysat-name').textContent,
      price: c.querySelector('.keysat-price').textContent,
      highlighted: c.classList.contains('keysat-highlighted'),
    })));
    assert.deepEqual(result.errors, [], 'nothing logged as an error');
    await page.locator('.keysat-tier[data-tier="default"] .keysat-buy').click();
    await page.waitForURL((u) => u.href.startsWith(`${keysat}/demo/checkout/`));
    result.checkout = page.url();
    assert.match(await page.content(), /Pay/, 'Keysat\'s checkout page');
  } else {
    const link = page.locator('#keysat-tiers a.keysat-fallback');
    await page.locator('#keysat-tiers .keysat-error').waitFor();
    result.fallback = await link.getAttribute('href');
    assert.equal(await page.locator('.keysat-tier').count(), 0, 'no tier read across origins');
    assert.ok(result.errors.some((e) => /CORS|Access-Control-Allow-Origin/i.test(e)), 'the browser refused it for CORS');
  }
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.failure = String(e && e.stack ? e.stack : e);
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(result.ok ? 0 : 1);
