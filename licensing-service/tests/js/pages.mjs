// The buyer pages in headless Chromium, driven by tests/integration/pages_browser.rs:
//   node pages.mjs <base-url> <screenshot-dir>
// The server runs in demo mode with the shop of tests/integration/pages_support. Each
// scenario runs in a fresh browser context that fails on any console error,
// uncaught script error or dialog. Prints one line `RESULT <json>` with the
// passed and failed scenarios, every key obtained and the page weights;
// exits non-zero if any scenario failed.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node pages.mjs <base-url> <screenshot-dir>');
  process.exit(2);
}
const HOSTILE = process.env.KEYSAT_TEST_HOSTILE;
// The admin API (to revoke a key) and a second daemon started as `keysat serve --demo` is (its seeded shop).
const ADMIN = process.env.KEYSAT_TEST_ADMIN;
const ADMIN_KEY = process.env.KEYSAT_TEST_ADMIN_KEY;
const DEMO_SHOP = process.env.KEYSAT_TEST_DEMO_SHOP;
// The seller's identity pages_browser.rs sets (tests/integration/seller.rs).
const SELLER = { email: 'help@acme.example', terms: 'https://acme.example/terms', support: 'https://acme.example/support' };
const NPUB = 'npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg';
const WEIGHT_LIMIT = 50 * 1024;

await fs.mkdir(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.KEYSAT_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
const results = { passed: [], failed: [], keys: [], weights: {} };
const shared = {};

// ---- harness ----

// Chromium logs an error status of a page or a fetch as a console error;
// the pages answer 4xx on purpose (a refused code, an unknown page), so
// those are expected. Anything else logged as an error fails the scenario.
function expectedStatus(msg) {
  const url = msg.location().url || '';
  return /^Failed to load resource: the server responded with a status of (403|404|422|429)\b/.test(msg.text())
    && !url.includes('/static/') && !url.endsWith('/favicon.ico');
}

function watch(page, problems) {
  page.on('console', (m) => {
    if (m.type() === 'error' && !expectedStatus(m)) { problems.push(`console error: ${m.text()} at ${m.location().url}`); }
  });
  page.on('pageerror', (e) => problems.push(`uncaught script error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`a dialog opened (${d.type()}): ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('response', (r) => {
    if (r.url().includes('/static/') && r.status() !== 200) { problems.push(`asset ${r.url()}: ${r.status()}`); }
  });
}

async function scenario(name, options, body) {
  const context = await browser.newContext({ acceptDownloads: true, ...options });
  context.setDefaultTimeout(10_000);
  const problems = [];
  context.on('page', (p) => watch(p, problems));
  const page = await context.newPage();
  try {
    await body({ context, page });
    // Let anything late (a poll, a stray timer) show itself.
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

// Waits until `selector`'s text is `want` (a string) or matches it (a RegExp).
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

async function visible(page, selector, yes = true) {
  assert.equal(await page.locator(selector).isVisible(), yes, `${selector} should be ${yes ? 'shown' : 'hidden'}`);
}

// Every form control has a label; the page does not scroll sideways.
async function checkLayout(page) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter((e) => e.labels.length === 0).map((e) => e.id || e.name));
  assert.deepEqual(unlabelled, [], `controls without a label on ${page.url()}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${page.url()} scrolls sideways by ${overflow}px`);
}

async function api(pathname, body) {
  const r = await fetch(base + pathname, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, `${pathname}: ${await r.clone().text()}`);
  return r.json();
}

// A demo checkout's button pressed by a program, not the buyer.
async function demoResolve(checkoutUrl, action) {
  const r = await fetch(`${checkoutUrl}/${action}`, { method: 'POST', redirect: 'manual' });
  assert.equal(r.status, 303);
}

const invoice0 = (page) => new URL(page.url()).searchParams.get('invoice');

async function admin(method, pathname, body) {
  const r = await fetch(`${ADMIN}/v1/admin${pathname}`, {
    method, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_KEY}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.ok, `${method} ${pathname}: ${r.status} ${await r.clone().text()}`);
  return r.json();
}

// The footer names the seller's contact, support and terms.
async function sellerInFooter(page) {
  const footer = page.locator('footer.site');
  assert.equal(await footer.locator(`a[href="mailto:${SELLER.email}"]`).count(), 1, `${page.url()}: contact e-mail`);
  assert.equal(await footer.locator(`a[href="${SELLER.terms}"]`).count(), 1, `${page.url()}: terms`);
  assert.equal(await footer.locator(`a[href="${SELLER.support}"]`).count(), 1, `${page.url()}: support`);
}

async function keyOnPage(page) {
  await page.waitForURL('**/thank-you?invoice=*');
  const key = await expectText(page, '#license-key', /^LIC1-/);
  return { key, invoice: new URL(page.url()).searchParams.get('invoice') };
}

function keep(scenarioName, key, entitlements) {
  results.keys.push({ scenario: scenarioName, key, entitlements });
}

// ---- scenarios ----

await scenario('sale_with_javascript', { viewport: { width: 1280, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] }, async ({ page }) => {
  await page.goto(`${base}/`);
  await checkLayout(page);
  await shot(page, 'storefront');
  await page.getByRole('link', { name: 'Buy Acme Editor' }).click();
  await page.waitForURL('**/buy/app');
  // The featured code is filled in and priced on the highlighted tier.
  assert.equal(await page.inputValue('#code'), 'SPRING');
  await expectText(page, '#total-price', '79.20 USD');
  await checkLayout(page);
  await shot(page, 'buy');

  // The total follows the tier and the code as they change.
  await page.click('label[for="tier-default"]');
  await expectText(page, '#total-tier', 'One year');
  await expectText(page, '#total-price', '8,000 sats');
  await expectText(page, '#total-was', '10,000 sats');
  await page.fill('#code', '');
  await expectText(page, '#total-price', '10,000 sats');
  await visible(page, '#total-was', false);
  await page.locator('#code').pressSequentially('NOPE-NOPE', { delay: 20 });
  await expectText(page, '#code-note', 'This code is unknown, expired or used up.');
  await page.fill('#code', 'freebie');
  await expectText(page, '#total-price', '0 sats');
  await expectText(page, '#pay', 'Get my key');
  await page.fill('#code', 'spring');
  await expectText(page, '#total-price', '8,000 sats');
  await expectText(page, '#code-note', 'Code SPRING applied.');
  await expectText(page, '#pay', 'Pay with bitcoin');

  await page.fill('#buyer_email', 'ada@example.com');
  await page.fill('#buyer_npub', NPUB);
  await page.click('#pay');
  await page.waitForURL('**/demo/checkout/**');
  await shot(page, 'demo-checkout');
  await page.getByRole('button', { name: 'Pay (simulated)' }).click();
  const { key, invoice } = await keyOnPage(page);
  await expectText(page, '#key-seats', '2 machines');
  await expectText(page, '#key-expires', /^\d{1,2} [A-Z][a-z]+ \d{4}$/);
  await visible(page, '#stage-waiting_for_payment', false);

  // Copy and download give the same key.
  await page.getByRole('button', { name: 'Copy key' }).click();
  await expectText(page, '#copy-status', 'Copied.');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'app.lic');
  // The key is the file's first line; `#` lines after it carry the order number.
  const file = await fs.readFile(await download.path(), 'utf8');
  assert.equal(file.split('\n')[0], key);
  assert.ok(file.includes(`# Order number: ${invoice0(page)}`), file);
  await checkLayout(page);
  await shot(page, 'thank-you');
  keep('sale_with_javascript', key, ['pro']);
  shared.sale = { key, invoice };
});

await scenario('thank_you_follows_the_payment_live', {}, async ({ context, page }) => {
  const p = await api('/v1/purchase', { product: 'app', policy_slug: 'lifetime', buyer_email: 'live@example.com' });
  await page.goto(`${base}/thank-you?invoice=${p.invoice_id}`);
  await visible(page, '#stage-waiting_for_payment');
  await visible(page, '#stage-paid', false);
  await shot(page, 'thank-you-waiting');
  await page.evaluate(() => { window.sameDocument = true; });

  // The buyer pays in another tab; this one shows the key without a reload.
  const checkout = await context.newPage();
  await checkout.goto(p.checkout_url);
  await checkout.getByRole('button', { name: 'Pay (simulated)' }).click();
  await checkout.waitForURL('**/thank-you?invoice=*');
  const key = await expectText(page, '#license-key', /^LIC1-/, 15_000);
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page reloaded');
  await visible(page, '#stage-waiting_for_payment', false);
  await visible(page, '#stage-paid');
  await expectText(page, '#key-seats', '3 machines');
  await expectText(page, '#key-expires', 'Never (lifetime license)');
  await expectText(page, '#live', 'Your license key is ready.');
  keep('thank_you_follows_the_payment_live', key, ['pro', 'sync']);

  // An invoice left to expire turns into "start again", also in place.
  const q = await api('/v1/purchase', { product: 'app', policy_slug: 'default' });
  await page.goto(`${base}/thank-you?invoice=${q.invoice_id}`);
  await page.evaluate(() => { window.sameDocument = true; });
  await demoResolve(q.checkout_url, 'expire');
  await page.locator('#stage-expired').waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page reloaded');
  assert.equal(await page.getByRole('link', { name: 'Start again' }).getAttribute('href'), '/buy/app');
  await shot(page, 'thank-you-expired');
});

await scenario('sale_without_javascript', { javaScriptEnabled: false }, async ({ page }) => {
  await page.goto(`${base}/buy/app`);
  await page.click('label[for="tier-default"]');
  await page.fill('#code', 'spring');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Apply' }).click()]);
  await expectText(page, '#total-price', '8,000 sats');
  await expectText(page, '#code-note', 'Code SPRING: 20% off.');
  assert.equal(await page.locator('#tier-default').isChecked(), true);
  await shot(page, 'buy-no-javascript');
  await page.fill('#buyer_email', 'nojs@example.com');
  await page.getByRole('button', { name: 'Pay with bitcoin' }).click();
  await page.waitForURL('**/demo/checkout/**');
  await page.getByRole('button', { name: 'Pay (simulated)' }).click();
  const { key } = await keyOnPage(page);
  await visible(page, 'button[data-copy]', false);
  await visible(page, '#download');
  await shot(page, 'thank-you-no-javascript');
  keep('sale_without_javascript', key, ['pro']);

  // Without JavaScript the waiting page refreshes itself until the key is there.
  const p = await api('/v1/purchase', { product: 'app', policy_slug: 'default' });
  await page.goto(`${base}/thank-you?invoice=${p.invoice_id}`);
  await visible(page, '#stage-waiting_for_payment');
  await demoResolve(p.checkout_url, 'pay');
  const refreshed = await expectText(page, '#license-key', /^LIC1-/, 15_000);
  keep('sale_without_javascript', refreshed, ['pro']);
});

await scenario('redeem', {}, async ({ page }) => {
  await page.goto(`${base}/redeem?code=FREEBIE&product=app`);
  assert.equal(await page.inputValue('#code'), 'FREEBIE');
  await page.fill('#buyer_email', 'gift@example.com');
  await checkLayout(page);
  await shot(page, 'redeem');
  await page.getByRole('button', { name: 'Get my key' }).click();
  const { key } = await keyOnPage(page);
  keep('redeem', key, ['pro']);

  await page.goto(`${base}/redeem?product=app`);
  await page.fill('#code', 'NOPE-NOPE');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Get my key' }).click()]);
  await expectText(page, '[role=alert]', 'This code is unknown, expired or used up.');
  assert.equal(await page.inputValue('#code'), 'NOPE-NOPE');
  // The code field is the one marked, with the reason beside it.
  assert.equal(await page.locator('#code').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#code').getAttribute('aria-describedby'), 'code-error');
  await expectText(page, '#code-error', 'This code is unknown, expired or used up.');
});

await scenario('recover', {}, async ({ page }) => {
  assert.ok(shared.sale, 'needs the sale of sale_with_javascript');
  await page.goto(`${base}/recover`);
  await page.fill('#invoice', shared.sale.invoice);
  await page.fill('#contact', 'ADA@example.com');
  await checkLayout(page);
  await shot(page, 'recover');
  await page.getByRole('button', { name: 'Find my key' }).click();
  const { key } = await keyOnPage(page);
  assert.equal(key, shared.sale.key);

  // By npub too; a wrong contact learns nothing.
  await page.goto(`${base}/recover`);
  await page.fill('#invoice', shared.sale.invoice);
  await page.fill('#contact', NPUB);
  await page.getByRole('button', { name: 'Find my key' }).click();
  assert.equal((await keyOnPage(page)).key, shared.sale.key);
  await page.goto(`${base}/recover`);
  await page.fill('#invoice', shared.sale.invoice);
  await page.fill('#contact', 'eve@example.com');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Find my key' }).click()]);
  await expectText(page, '[role=alert]', /^We found no key for this order number/);
  await shot(page, 'recover-no-match');
});

await scenario('phone', { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }, async ({ page }) => {
  const pages = { storefront: '/', buy: '/buy/app', redeem: '/redeem', recover: '/recover', 'not-found': '/no/such/page' };
  if (shared.sale) { pages['thank-you'] = `/thank-you?invoice=${shared.sale.invoice}`; }
  for (const [name, p] of Object.entries(pages)) {
    await page.goto(base + p);
    await checkLayout(page);
    await shot(page, `phone-${name}`);
  }
  // A whole purchase by touch.
  await page.goto(`${base}/buy/app`);
  await page.tap('label[for="tier-default"]');
  await expectText(page, '#total-price', '8,000 sats');
  await page.tap('#pay');
  await page.waitForURL('**/demo/checkout/**');
  await page.getByRole('button', { name: 'Pay (simulated)' }).tap();
  const { key } = await keyOnPage(page);
  await checkLayout(page);
  keep('phone', key, ['pro']);
});

await scenario('keyboard', {}, async ({ page }) => {
  await page.goto(`${base}/buy/app`);
  const focused = () => page.evaluate(() => {
    const e = document.activeElement;
    return e.id || e.getAttribute('name') || e.textContent.trim();
  });
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'Skip to content');
  // Tab reaches the chosen tier; the arrow keys choose another.
  let steps = 0;
  while ((await focused()) !== 'tier-lifetime') {
    await page.keyboard.press('Tab');
    assert.ok(++steps < 12, `the tiers are not reached by Tab (at ${await focused()})`);
  }
  await page.keyboard.press('ArrowLeft');
  assert.equal(await focused(), 'tier-default');
  assert.equal(await page.locator('#tier-default').isChecked(), true);
  await expectText(page, '#total-price', '8,000 sats');
  const order = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    order.push(await focused());
  }
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab');
    order.push(await focused());
  }
  // The seller's terms and contact come before the pay button.
  assert.deepEqual(order, ['code', 'intent', 'buyer_email', 'buyer_npub', 'buyer_note', 'terms-link', SELLER.email,
    'support page', 'pay']);
  await page.keyboard.press('Enter');
  await page.waitForURL('**/demo/checkout/**');
});

await scenario('dark_and_light', { colorScheme: 'dark' }, async ({ context, page }) => {
  await page.goto(`${base}/buy/app`);
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(18, 18, 18)');
  await shot(page, 'buy-dark');
  const light = await context.browser().newContext({ colorScheme: 'light' });
  const lp = await light.newPage();
  await lp.goto(`${base}/buy/app`);
  assert.equal(await lp.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(247, 247, 245)');
  await light.close();
});

await scenario('hostile_content', {}, async ({ page }) => {
  assert.ok(HOSTILE, 'KEYSAT_TEST_HOSTILE is set');
  const q = encodeURIComponent(HOSTILE);
  const noScriptsButOurs = async () => {
    assert.equal(await page.locator('script').count(), 1, `${page.url()}: a script element was injected`);
    assert.equal(await page.locator('[href^="javascript:" i], [src^="javascript:" i]').count(), 0, page.url());
  };
  await page.goto(`${base}/`);
  assert.ok((await page.locator('main').innerText()).includes(HOSTILE), 'the names show as text on the storefront');
  await noScriptsButOurs();
  await page.goto(`${base}/buy/evil`);
  assert.equal((await page.locator('h1').textContent()).trim(), HOSTILE);
  assert.equal((await page.locator('.tier-name').first().textContent()).trim(), HOSTILE);
  await noScriptsButOurs();
  await shot(page, 'hostile-buy');
  await page.goto(`${base}/buy/evil?code=${q}&tier=${q}`);
  assert.equal(await page.inputValue('#code'), HOSTILE);
  await noScriptsButOurs();
  await page.fill('#buyer_note', HOSTILE);
  await page.click('#pay');
  // The hostile code is refused: the form comes back with the reason.
  await expectText(page, '[role=alert]', 'This code is unknown, expired or used up.');
  await page.fill('#code', '');
  await page.click('#pay');
  await page.waitForURL('**/demo/checkout/**');
  await page.getByRole('button', { name: 'Pay (simulated)' }).click();
  await keyOnPage(page);
  assert.ok((await page.locator('#order').innerText()).includes(HOSTILE));
  await noScriptsButOurs();
  await shot(page, 'hostile-thank-you');
  await page.goto(`${base}/thank-you?invoice=${q}`);
  assert.ok((await page.locator('main').innerText()).includes(HOSTILE), 'the invoice id shows as text');
  await noScriptsButOurs();
  await page.goto(`${base}/redeem?code=${q}&product=${q}`);
  assert.equal(await page.inputValue('#code'), HOSTILE);
  await page.goto(`${base}/recover`);
  await page.fill('#invoice', HOSTILE);
  await page.fill('#contact', HOSTILE);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Find my key' }).click()]);
  assert.equal(await page.inputValue('#invoice'), HOSTILE);
  await noScriptsButOurs();
  await page.waitForTimeout(500);
});

await scenario('seller_on_every_page', {}, async ({ page }) => {
  const pages = ['/', '/buy/app', '/redeem', '/recover', '/no/such/page'];
  if (shared.sale) { pages.push(`/thank-you?invoice=${shared.sale.invoice}`); }
  for (const p of pages) {
    await page.goto(base + p);
    await sellerInFooter(page);
  }
  // Before paying: the terms, the refund policy and the contact, above the button.
  await page.goto(`${base}/buy/app`);
  const before = page.locator('#before-you-pay');
  assert.equal(await before.locator('#terms-link').getAttribute('href'), SELLER.terms);
  await expectText(page, '#refund-policy', /Full refund within 30 days\./);
  assert.ok((await before.innerText()).includes(SELLER.email));
  const [refund, pay] = await Promise.all([before.boundingBox(), page.locator('#pay').boundingBox()]);
  assert.ok(refund.y < pay.y, 'the terms come before the pay button');
  await shot(page, 'buy-seller-terms');
  // A buyer's 404 is in words, with the contact.
  await page.goto(`${base}/no/such/page`);
  await expectText(page, 'h1', 'Page not found');
  assert.ok(!(await page.locator('main').innerText()).includes('endpoint'));
  assert.equal(await page.locator(`main a[href="mailto:${SELLER.email}"]`).count(), 1);
  await shot(page, 'not-found');
});

await scenario('fiat_tier_price_and_invoice', {}, async ({ page }) => {
  await page.goto(`${base}/buy/app?code=`);
  await page.click('label[for="tier-lifetime"]');
  await expectText(page, '#total-price', '99.00 USD');
  assert.equal((await page.locator('label[for="tier-lifetime"] .tier-price').textContent()).trim(), '99.00 USD');
  await page.fill('#buyer_email', 'fiat@example.com');
  await page.click('#pay');
  await page.waitForURL('**/demo/checkout/**');
  // The invoice is for the tier's fiat price, not its sats.
  await expectText(page, '#amount', '99.00 USD');
  await checkLayout(page);
  await sellerInFooter(page);
  await shot(page, 'demo-checkout-fiat');
  await page.getByRole('button', { name: 'Pay (simulated)' }).click();
  const { key } = await keyOnPage(page);
  assert.ok((await page.locator('.eyebrow').first().textContent()).includes('99.00 USD'));
  keep('fiat_tier_price_and_invoice', key, ['pro', 'sync']);
  // Sats prices get thousands separators on the demo checkout too.
  const q = await api('/v1/purchase', { product: 'app', policy_slug: 'default' });
  await page.goto(q.checkout_url);
  await expectText(page, '#amount', '10,000 sats');
});

await scenario('revoked_license', {}, async ({ page }) => {
  assert.ok(ADMIN && ADMIN_KEY, 'KEYSAT_TEST_ADMIN and KEYSAT_TEST_ADMIN_KEY are set');
  const p = await api('/v1/purchase', { product: 'app', policy_slug: 'default', buyer_email: 'revoked@example.com' });
  await demoResolve(p.checkout_url, 'pay');
  await page.goto(`${base}/thank-you?invoice=${p.invoice_id}`);
  await expectText(page, '#paid-title', 'Thank you, your key is ready');
  const status = await (await fetch(`${base}/v1/purchase/${p.invoice_id}`)).json();
  await admin('POST', `/licenses/${status.license_id}/revoke`, { reason: 'chargeback' });
  await page.reload();
  await expectText(page, '#paid-title', 'This license key is revoked');
  await expectText(page, '#key-state-note', /no longer works/);
  assert.ok(!(await page.locator('main').innerText()).includes('your key is ready'));
  await shot(page, 'thank-you-revoked');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const file = await fs.readFile(await download.path(), 'utf8');
  assert.equal(file.split('\n')[0], status.license_key);
  assert.ok(file.includes('# REVOKED: this key no longer works.'), file);
});

await scenario('field_errors', {}, async ({ page }) => {
  await page.goto(`${base}/buy/app?tier=default&code=`);
  await page.fill('#buyer_npub', 'npub1nope');
  await page.fill('#buyer_note', 'Keep me');
  await Promise.all([page.waitForNavigation(), page.click('#pay')]);
  const npub = page.locator('#buyer_npub');
  assert.equal(await npub.getAttribute('aria-invalid'), 'true');
  assert.ok((await npub.getAttribute('aria-describedby')).split(' ').includes('buyer_npub-error'));
  await expectText(page, '#buyer_npub-error', /^Nostr public key: /);
  // The message is beside the field, and the values are kept.
  const [field, message] = await Promise.all([npub.boundingBox(), page.locator('#buyer_npub-error').boundingBox()]);
  assert.ok(message.y > field.y && message.y - (field.y + field.height) < 40, 'the message is under its field');
  assert.equal(await npub.inputValue(), 'npub1nope');
  assert.equal(await page.inputValue('#buyer_note'), 'Keep me');
  assert.equal(await page.locator('#tier-default').isChecked(), true);
  assert.equal(await page.locator('#buyer_email').getAttribute('aria-invalid'), null, 'only the failing field is marked');
  await checkLayout(page);
  await shot(page, 'buy-field-error');
  // Fixed, it goes through.
  await page.fill('#buyer_npub', NPUB);
  await page.click('#pay');
  await page.waitForURL('**/demo/checkout/**');
});

await scenario('no_contact_warning', {}, async ({ page }) => {
  await page.goto(`${base}/buy/app?tier=default&code=`);
  await page.click('#pay');
  await page.waitForURL('**/demo/checkout/**');
  await page.getByRole('button', { name: 'Pay (simulated)' }).click();
  const { key, invoice } = await keyOnPage(page);
  await visible(page, '#only-copy');
  await expectText(page, '#only-copy strong', 'This page is the only copy of your key.');
  await expectText(page, '#order-number', invoice);
  // The download is offered first, before the key itself.
  const [warning, keybox] = await Promise.all([page.locator('#download-first').boundingBox(),
    page.locator('#license-key').boundingBox()]);
  assert.ok(warning.y < keybox.y, 'the download comes first');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-first')]);
  assert.equal((await fs.readFile(await download.path(), 'utf8')).split('\n')[0], key);
  await shot(page, 'thank-you-only-copy');
  keep('no_contact_warning', key, ['pro']);
  // With an e-mail given there is no such warning.
  assert.ok(shared.sale, 'needs the sale of sale_with_javascript');
  await page.goto(`${base}/thank-you?invoice=${shared.sale.invoice}`);
  await visible(page, '#only-copy', false);
});

await scenario('demo_shop', { viewport: { width: 1280, height: 900 } }, async ({ page }) => {
  assert.ok(DEMO_SHOP, 'KEYSAT_TEST_DEMO_SHOP is set');
  await page.goto(`${DEMO_SHOP}/`);
  await expectText(page, 'h1', 'Acme Software (demo)');
  const card = page.locator('li.product', { hasText: 'Acme Notes' });
  assert.match((await card.locator('.price').textContent()).trim(), /^from 2,100 sats or 19\.99 USD$/);
  assert.equal(await page.locator(`footer a[href="mailto:support@example.com"]`).count(), 1);
  await shot(page, 'demo-shop-storefront');
  await card.getByRole('link').click();
  await page.waitForURL('**/buy/acme-notes');
  // Three tiers, the featured code filled in on the highlighted (dollar) tier.
  assert.equal(await page.locator('.tier-input').count(), 3);
  assert.equal(await page.inputValue('#code'), 'LAUNCH20');
  assert.equal(await page.locator('#tier-lifetime').isChecked(), true);
  await expectText(page, '#total-price', /^\d+\.\d{2} USD$/);
  assert.ok((await page.locator('#renewal-note').textContent()).includes('renew'));
  await expectText(page, '#refund-policy', /Full refund within 30 days/);
  await checkLayout(page);
  await shot(page, 'demo-shop-buy');
  // The free code: nothing to pay, straight to the key, with the download link and instructions.
  await page.fill('#code', 'FRIEND-FREE');
  await expectText(page, '#pay', 'Get my key');
  await expectText(page, '#pay-help', /^Nothing to pay/);
  await page.fill('#buyer_email', 'demo@example.com');
  await page.click('#pay');
  await page.waitForURL('**/thank-you?invoice=*');
  await expectText(page, '#license-key', /^LIC1-/);
  assert.equal(await page.getByRole('link', { name: 'Download Acme Notes' }).getAttribute('href'),
    'https://example.com/acme-notes/download');
  await expectText(page, '#key-instructions', /Help → Enter license/);
  await shot(page, 'demo-shop-thank-you');
});

await scenario('page_weight', {}, async () => {
  // Each page in a fresh context (nothing cached): the document and everything it loads.
  const pages = ['/', '/buy/app', '/redeem', '/recover', '/no/such/page'];
  if (shared.sale) { pages.push(`/thank-you?invoice=${shared.sale.invoice}`); }
  for (const p of pages) {
    const ctx = await browser.newContext();
    const pg = await ctx.newPage();
    await pg.goto(base + p, { waitUntil: 'load' });
    const bytes = await pg.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return performance.getEntriesByType('resource').reduce((sum, r) => sum + r.transferSize, nav.transferSize);
    });
    await ctx.close();
    results.weights[p.startsWith('/thank-you') ? '/thank-you' : p] = bytes;
    assert.ok(bytes > 0 && bytes < WEIGHT_LIMIT, `${p}: ${bytes} bytes transferred`);
  }
});

await browser.close();
console.log(`RESULT ${JSON.stringify(results)}`);
for (const f of results.failed) { console.error(`FAILED ${f.name}:\n${f.error}\n`); }
process.exit(results.failed.length ? 1 : 0);
