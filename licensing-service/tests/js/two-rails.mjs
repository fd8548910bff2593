// Both payment rails on one buy page, in headless Chromium, driven by
// tests/integration/stripe_browser.rs:
//   node two-rails.mjs <keysat-base-url> <stripe-simulator-base-url>
// The server runs in demo mode (the bitcoin rail is simulated) with Stripe's
// simulator connected; product `app` has tier `card` (49.00 USD) and tier
// `sats` (bitcoin only). Prints one line `RESULT <json>` with the passed and
// failed scenarios and every key obtained; exits non-zero if any failed.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const [base, stripeBase] = process.argv.slice(2);
if (!base || !stripeBase) {
  console.error('usage: node two-rails.mjs <keysat-base-url> <stripe-simulator-base-url>');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.KEYSAT_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
const results = { passed: [], failed: [], keys: [] };

async function scenario(name, body) {
  const context = await browser.newContext();
  context.setDefaultTimeout(10_000);
  const problems = [];
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`uncaught script error: ${e.message}`));
  // The simulated Stripe page has no icon; anything else logged as an error fails.
  page.on('console', (m) => {
    if (m.type() === 'error' && !(m.location().url || '').endsWith('/favicon.ico')) {
      problems.push(`console error: ${m.text()} at ${m.location().url}`);
    }
  });
  try {
    await body(page);
    if (problems.length) { throw new Error(problems.join('\n')); }
    results.passed.push(name);
  } catch (e) {
    results.failed.push({ name, error: String(e && e.stack ? e.stack : e) });
  } finally {
    await context.close();
  }
}

const shown = (page, sel) => page.locator(sel).isVisible();

async function keyOnThankYou(page) {
  await page.waitForURL('**/thank-you?invoice=*');
  const key = page.locator('#license-key');
  await key.filter({ hasText: /^LIC1-/ }).waitFor();
  return (await key.textContent()).trim();
}

await scenario('both_rails_bitcoin_first', async (page) => {
  await page.goto(`${base}/buy/app?tier=card`);
  assert.equal((await page.locator('#pay').textContent()).trim(), 'Pay with bitcoin');
  assert.equal((await page.locator('#pay-card').textContent()).trim(), 'Pay by card');
  assert.ok(await shown(page, '#pay') && await shown(page, '#pay-card'), 'both buttons shown');
  const order = await page.evaluate(() => {
    const a = document.getElementById('pay');
    const b = document.getElementById('pay-card');
    return Boolean(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  assert.ok(order, 'bitcoin comes first');
  // A tier without a card price is bitcoin only: the card button goes.
  await page.locator('label[for="tier-sats"]').click();
  assert.equal(await shown(page, '#pay-card'), false, 'no card button on a bitcoin-only tier');
  assert.match(await page.locator('label[for="tier-sats"]').textContent(), /Bitcoin only/);
  await page.locator('label[for="tier-card"]').click();
  assert.ok(await shown(page, '#pay-card'), 'the card button is back');
});

await scenario('pay_by_card', async (page) => {
  await page.goto(`${base}/buy/app?tier=card`);
  await page.fill('#buyer_email', 'card@example.com');
  await page.click('#pay-card');
  await page.waitForURL(`${stripeBase}/c/pay/**`);
  assert.match(await page.locator('#amount').textContent(), /49\.00 USD/);
  await page.click('#stripe-pay');
  results.keys.push({ scenario: 'pay_by_card', key: await keyOnThankYou(page) });
});

await scenario('pay_with_bitcoin', async (page) => {
  await page.goto(`${base}/buy/app?tier=card`);
  await page.click('#pay');
  await page.waitForURL('**/demo/checkout/**');
  await page.getByRole('button', { name: /pay/i }).first().click();
  results.keys.push({ scenario: 'pay_with_bitcoin', key: await keyOnThankYou(page) });
});

await browser.close();
console.log('RESULT ' + JSON.stringify(results));
process.exit(results.failed.length ? 1 : 0);
