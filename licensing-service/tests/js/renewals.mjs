// The subscription pages in headless Chromium, driven by tests/integration/pages_renewals.rs:
//   node renewals.mjs <base-url> <screenshot-dir>
// with KEYSAT_TEST_RENEWALS = {"renew_key", "link", "upgrade_key"} (licenses the Rust side issued).
// The server runs in demo mode. Each scenario runs in a fresh browser context
// that fails on any console error, uncaught script error or dialog. Prints
// one line `RESULT <json>` with the passed and failed scenarios and every key
// obtained; exits non-zero if any scenario failed.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';

const [base, shots] = process.argv.slice(2);
const input = JSON.parse(process.env.KEYSAT_TEST_RENEWALS || '{}');
if (!base || !shots || !input.renew_key) {
  console.error('usage: KEYSAT_TEST_RENEWALS=<json> node renewals.mjs <base-url> <screenshot-dir>');
  process.exit(2);
}

await fs.mkdir(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.KEYSAT_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
const results = { passed: [], failed: [], keys: [] };

async function scenario(name, options, body) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(10_000);
  const problems = [];
  context.on('page', (p) => {
    // A refusal answered on purpose (422: not a key) is logged by Chromium; anything else fails.
    p.on('console', (m) => {
      const expected = /^Failed to load resource: the server responded with a status of (404|422|429)\b/.test(m.text());
      if (m.type() === 'error' && !expected) { problems.push(`console error: ${m.text()}`); }
    });
    p.on('pageerror', (e) => problems.push(`uncaught script error: ${e.message}`));
    p.on('dialog', (d) => { problems.push(`a dialog opened: ${d.message()}`); d.dismiss().catch(() => {}); });
  });
  const page = await context.newPage();
  try {
    await body({ page });
    await page.waitForTimeout(300);
    if (problems.length) { throw new Error(problems.join('\n')); }
    results.passed.push(name);
  } catch (e) {
    results.failed.push({ name, error: String(e && e.stack ? e.stack : e) });
    await page.screenshot({ path: path.join(shots, `FAILED-${name}.png`), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
  }
}

const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

async function expectText(page, selector, want, timeout = 8000) {
  const until = Date.now() + timeout;
  let got;
  for (;;) {
    got = ((await page.locator(selector).first().textContent()) || '').trim();
    if (want instanceof RegExp ? want.test(got) : got === want) { return got; }
    if (Date.now() > until) { throw new Error(`${selector}: wanted ${want}, got ${JSON.stringify(got)}`); }
    await page.waitForTimeout(100);
  }
}

// Every form control has a label; the page does not scroll sideways.
async function checkLayout(page) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter((e) => e.labels.length === 0).map((e) => e.id || e.name));
  assert.deepEqual(unlabelled, [], `controls without a label on ${page.url()}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${page.url()} scrolls sideways by ${overflow}px`);
}

// Pays on the demo checkout and waits for the new key on the thank-you page.
async function payAndGetKey(page, heading) {
  await page.waitForURL('**/demo/checkout/**');
  await page.getByRole('button', { name: 'Pay (simulated)' }).click();
  await page.waitForURL('**/thank-you?invoice=*');
  const key = await expectText(page, '#license-key', /^LIC1-/);
  await expectText(page, '#stage-paid h1', heading);
  await expectText(page, '#key-label', 'Your new license key');
  assert.ok(await page.locator('#new-key-note').isVisible(), 'the page says the old key names the same license');
  return key;
}

await scenario('buy_page_explains_subscriptions', { viewport: { width: 1280, height: 900 } }, async ({ page }) => {
  await page.goto(`${base}/buy/app`);
  await expectText(page, 'label[for="tier-monthly"] .per', 'per month');
  await expectText(page, 'label[for="tier-yearly"] .per', 'per year');
  await expectText(page, '#renewal-note', /^Subscriptions renew only when you pay: 1 week before each period ends/);
  await checkLayout(page);
  await shot(page, 'buy-subscriptions');
});

await scenario('renew_pasting_the_key', { viewport: { width: 1280, height: 900 } }, async ({ page }) => {
  await page.goto(`${base}/renew`);
  await checkLayout(page);
  await shot(page, 'renew');
  await page.fill('#key', input.renew_key);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expectText(page, '#renew-price', '5,000 sats');
  await expectText(page, '#renew-next', /^1 month, until /);
  await checkLayout(page);
  await shot(page, 'renew-summary');
  await page.getByRole('button', { name: 'Pay with bitcoin' }).click();
  const key = await payAndGetKey(page, 'Your subscription is renewed');
  assert.notEqual(key, input.renew_key);
  await shot(page, 'thank-you-renewed');
  results.keys.push({ scenario: 'renew_pasting_the_key', key, previous: input.renew_key });

  // A key that is not one gets a clear message and the form again.
  await page.goto(`${base}/renew`);
  await page.fill('#key', 'LIC1-NOT-A-KEY');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expectText(page, '[role=alert]', /not a well-formed LIC1 key/);
});

await scenario('renew_from_the_reminder_link_without_javascript', { javaScriptEnabled: false }, async ({ page }) => {
  await page.goto(input.link);
  await expectText(page, '#renew-price', '5,000 sats');
  await shot(page, 'renew-from-link');
  await page.getByRole('button', { name: 'Pay with bitcoin' }).click();
  const key = await payAndGetKey(page, 'Your subscription is renewed');
  results.keys.push({ scenario: 'renew_from_the_reminder_link_without_javascript', key, previous: input.renew_key });
});

await scenario('upgrade', { viewport: { width: 1280, height: 900 } }, async ({ page }) => {
  await page.goto(`${base}/upgrade`);
  await checkLayout(page);
  await page.fill('#key', input.upgrade_key);
  await page.getByRole('button', { name: 'Show my options' }).click();
  await expectText(page, '#offer-pro', /^Pay [0-9,]+ sats now$/);
  await expectText(page, '#offer-lifetime', /^Pay [0-9,]+ sats now$/);
  assert.equal(await page.locator('#to-pro').isChecked(), true);
  await checkLayout(page);
  await shot(page, 'upgrade');
  await page.getByRole('button', { name: 'Continue' }).click();
  const key = await payAndGetKey(page, 'Your license is upgraded');
  await shot(page, 'thank-you-upgraded');
  results.keys.push({ scenario: 'upgrade', key, previous: input.upgrade_key });
});

await scenario('phone', { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true }, async ({ page }) => {
  await page.goto(input.link);
  await checkLayout(page);
  await shot(page, 'phone-renew');
  await page.goto(`${base}/upgrade`);
  await page.fill('#key', input.upgrade_key);
  await page.getByRole('button', { name: 'Show my options' }).click();
  await page.locator('#offer-lifetime').waitFor();
  await checkLayout(page);
  await shot(page, 'phone-upgrade');
});

await browser.close();
console.log(`RESULT ${JSON.stringify(results)}`);
for (const f of results.failed) { console.error(`FAILED ${f.name}:\n${f.error}\n`); }
process.exit(results.failed.length ? 1 : 0);
