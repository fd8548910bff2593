/**
 * Every operator action against a live daemon: create product → create
 * policy → issue → search → suspend → unsuspend → machines → revoke →
 * discount codes → audit log shows each step; bad input is refused by the
 * form's rules or by the daemon, and the operator reads one plain message.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { archivePolicy } from '../actions/archivePolicy'
import { archiveProduct } from '../actions/archiveProduct'
import { backUpNow } from '../actions/backUpNow'
import { backupStatus } from '../actions/backupStatus'
import { createApiKey } from '../actions/createApiKey'
import { createDiscountCode } from '../actions/createDiscountCode'
import { customerDetails } from '../actions/customerDetails'
import { deleteDiscountCode } from '../actions/deleteDiscountCode'
import { editDiscountCode } from '../actions/editDiscountCode'
import { editProduct } from '../actions/editProduct'
import { importLicenses } from '../actions/importLicenses'
import { exportData } from '../actions/exportData'
import { licenseDetails } from '../actions/licenseDetails'
import { listApiKeys } from '../actions/listApiKeys'
import { listCatalog } from '../actions/listCatalog'
import { listCustomers } from '../actions/listCustomers'
import { listLicenses } from '../actions/listLicenses'
import { listSales } from '../actions/listSales'
import { nostrRelays } from '../actions/nostrRelays'
import { notificationSettings } from '../actions/notificationSettings'
import { reconcileBtcpay } from '../actions/reconcileBtcpay'
import { resendKey } from '../actions/resendKey'
import { resetSeats } from '../actions/resetSeats'
import { revenueSummary } from '../actions/revenueSummary'
import { revokeApiKey } from '../actions/revokeApiKey'
import { saleDetails } from '../actions/saleDetails'
import { serviceStatus } from '../actions/serviceStatus'
import { createPolicy } from '../actions/createPolicy'
import { createProduct } from '../actions/createProduct'
import { deactivateMachine } from '../actions/deactivateMachine'
import { editPolicy } from '../actions/editPolicy'
import { issueLicense } from '../actions/issueLicense'
import { listDiscountCodes } from '../actions/listDiscountCodes'
import { listMachines } from '../actions/listMachines'
import { revokeLicense } from '../actions/revokeLicense'
import { searchLicenses } from '../actions/searchLicenses'
import { setDiscountCodeActive } from '../actions/setDiscountCodeActive'
import { setOperatorName } from '../actions/setOperatorName'
import { showCredentials } from '../actions/showCredentials'
import { suspendLicense } from '../actions/suspendLicense'
import { unsuspendLicense } from '../actions/unsuspendLicense'
import { viewAuditLog } from '../actions/viewAuditLog'
import {
  attach,
  Daemon,
  extraLabels,
  failAction,
  field,
  keysatBridgeUrl,
  recordingEffects,
  rows,
  runAction,
  startDaemon,
} from './harness'
import { keysatHost } from './hosts'

/** The operator never sees a stack trace: the message is all there is. */
function assertPlain(e: Error & { code?: string }) {
  assert.equal(e.stack, e.message, 'the error carries no stack frames')
  assert.doesNotMatch(e.message, /\n\s+at /)
}

describe('actions against a live daemon', () => {
  let d: Daemon
  let detach: () => Promise<void>
  const fingerprint = 'ab'.repeat(32)
  let licenseId = ''
  let licenseKey = ''

  before(async () => {
    // Demo mode: the simulated provider takes a real purchase for the sales actions.
    d = await startDaemon({ env: { KEYSAT_DEMO: 'true' } })
    // The entitlement names these tests choose are shown as labels.
    extraLabels.add('Pro features').add('Team seats')
    detach = (await attach(d)).detach
  })
  after(async () => {
    await detach?.()
    await d?.dispose()
  })

  test('Show admin credentials: the admin key, the public URLs and the signing key', async () => {
    const { result } = await runAction(
      showCredentials,
      {},
      recordingEffects({ 'keysat/main': keysatHost }),
    )
    const key = field(result, 'Admin API key')
    assert.equal(key.value, d.adminKey)
    assert.equal(key.masked, true)
    assert.equal(key.copyable, true)
    const pem = (await d.call('GET', '/v1/pubkey')).body.public_key_pem
    assert.match(pem, /BEGIN PUBLIC KEY/)
    assert.equal(field(result, 'Signing public key (PEM)').value, pem)
    assert.equal(field(result, 'Buy pages and public API').value, d.publicUrl)
    assert.equal(
      field(result, 'BTCPay webhook').value,
      `${keysatBridgeUrl}/v1/btcpay/webhook`,
      'the address BTCPay reaches inside StartOS',
    )
  })

  test('Set operator name: saved, prefilled next time, cleared when empty', async () => {
    const { result } = await runAction(setOperatorName, {
      contactEmail: null,
      contactNpub: null,
      supportUrl: null,
      termsUrl: null,
      refundPolicy: null,
      name: '  Ada Software ',
    })
    assert.equal(field(result, 'Operator name').value, 'Ada Software')
    assert.equal(
      (await d.admin('GET', '/settings')).body.operator_name,
      'Ada Software',
    )
    const again = await runAction(setOperatorName, {
      contactNpub: null,
      supportUrl: null,
      name: 'Ada Software Ltd',
      contactEmail: ' help@ada.example ',
      termsUrl: 'https://ada.example/terms',
      refundPolicy: 'Refunds within 14 days.',
    })
    assert.deepEqual(
      again.form.value,
      {
        name: 'Ada Software',
        contactEmail: null,
        contactNpub: null,
        supportUrl: null,
        termsUrl: null,
        refundPolicy: null,
      },
      'the form is prefilled',
    )
    const s = (await d.admin('GET', '/settings')).body
    assert.equal(s.contact_email, 'help@ada.example')
    assert.equal(s.terms_url, 'https://ada.example/terms')
    assert.equal(s.refund_policy, 'Refunds within 14 days.')
    const bad = await failAction(setOperatorName, {
      contactEmail: null,
      contactNpub: null,
      supportUrl: null,
      refundPolicy: null,
      name: 'Ada Software',
      termsUrl: 'javascript:alert(1)',
    })
    assert.match(bad.message, /terms_url|https/)
    await runAction(setOperatorName, {
      contactEmail: null,
      contactNpub: null,
      supportUrl: null,
      termsUrl: null,
      refundPolicy: null,
      name: null,
    })
    const cleared = (await d.admin('GET', '/settings')).body
    assert.equal(cleared.operator_name, null)
    assert.equal(cleared.contact_email, null, 'an empty field clears it')
    await runAction(setOperatorName, {
      contactEmail: null,
      contactNpub: null,
      supportUrl: null,
      termsUrl: null,
      refundPolicy: null,
      name: 'Ada Software',
    })
  })

  test('Create product: the form refuses a bad slug before the daemon sees it', async () => {
    const e = await failAction(createProduct, {
      homepageUrl: null,
      downloadUrl: null,
      keyInstructions: null,
      slug: 'My App!',
      name: 'My App',
      description: null,
      priceSats: 50_000,
      entitlements: [],
    })
    assert.equal(e.code, 'invalid_input')
    assert.match(e.message, /^Slug: 1 to 64 of a-z, 0-9 and "-"/)
    assertPlain(e)
    const e2 = await failAction(createProduct, {
      homepageUrl: null,
      downloadUrl: null,
      keyInstructions: null,
      slug: 'myapp',
      name: 'My App',
      description: null,
      priceSats: 12.5,
      entitlements: [],
    })
    assert.match(e2.message, /Price: must be a whole number/)
    assert.deepEqual((await d.admin('GET', '/products')).body.products, [])
  })

  test('Create product', async () => {
    const { result } = await runAction(createProduct, {
      homepageUrl: null,
      downloadUrl: null,
      keyInstructions: null,
      slug: 'myapp',
      name: 'My App',
      description: 'Does things',
      priceSats: 50_000,
      entitlements: [
        { slug: 'pro', name: 'Pro features' },
        { slug: 'team', name: 'Team seats' },
      ],
    })
    assert.equal(result?.title, 'Product "My App" created')
    assert.equal(field(result, 'Slug').value, 'myapp')
    assert.equal(field(result, 'Buy link').value, `${d.publicUrl}/buy/myapp`)
    assert.equal(field(result, 'Price').value, '50,000 sats')
    const p = (await d.admin('GET', '/products/myapp')).body
    assert.equal(p.price_sats, 50_000)
    assert.deepEqual(
      p.entitlements_catalog.map((e: { slug: string }) => e.slug),
      ['pro', 'team'],
    )
  })

  test("Create product twice: the operator reads the daemon's own message", async () => {
    const e = await failAction(createProduct, {
      homepageUrl: null,
      downloadUrl: null,
      keyInstructions: null,
      slug: 'myapp',
      name: 'Again',
      description: null,
      priceSats: 1,
      entitlements: [],
    })
    assert.equal(e.code, 'slug_taken')
    assert.equal(e.message, "a product 'myapp' already exists")
    assertPlain(e)
  })

  test('Create policy: the product select lists the products; the daemon checks entitlements', async () => {
    const input = {
      product: 'myapp',
      slug: 'default',
      name: 'One year, 2 machines',
      description: null,
      priceSats: null,
      priceAmount: null,
      priceCurrency: null,
      durationDays: 365,
      graceDays: 7,
      maxMachines: 2,
      entitlements: ['pro'],
      isTrial: false,
      isRecurring: false,
      renewalNoticeDays: null,
      public: true,
      highlighted: false,
      tierRank: null,
      leaseDays: 7,
      selfResetLimit: 3,
      seatTimeoutMinutes: 0,
      oneTrialPerMachine: false,
    }
    const bad = await failAction(createPolicy, {
      ...input,
      entitlements: ['gold'],
    })
    assert.equal(bad.code, 'invalid_field')
    assert.match(
      bad.message,
      /'gold' is not in the product's entitlements_catalog/,
    )
    assertPlain(bad)

    const { result, form } = await runAction(createPolicy, input)
    const productSpec = form.spec.product as {
      type: string
      values: Record<string, string>
    }
    assert.equal(productSpec.type, 'select')
    assert.deepEqual(productSpec.values, { myapp: 'My App (myapp)' })
    assert.equal(field(result, 'Duration').value, '365 days')
    assert.equal(
      field(result, 'Price').value,
      '50,000 sats',
      "the product's price",
    )
    const pol = (await d.admin('GET', '/products/myapp/policies/default')).body
    assert.equal(pol.duration_seconds, 365 * 86_400)
    assert.equal(pol.grace_seconds, 7 * 86_400)
    assert.equal(pol.max_machines, 2)
    assert.deepEqual(pol.entitlements, ['pro'])
    assert.equal(pol.lease_seconds, 7 * 86_400)
    assert.equal(pol.self_reset_limit, 3)
    assert.equal(pol.seat_timeout_seconds, 0)
    assert.equal(field(result, 'Floating seat timeout').value, 'never')

    const fiat = await runAction(createPolicy, {
      ...input,
      slug: 'team',
      name: 'Team',
      priceAmount: '49.50',
      priceCurrency: 'eur',
      maxMachines: 10,
      highlighted: true,
      tierRank: 2,
    })
    assert.equal(field(fiat.result, 'Price').value, '49.50 EUR (50,000 sats)')
    assert.equal(field(fiat.result, 'Highlighted').value, 'yes')
    const team = (await d.admin('GET', '/products/myapp/policies/team')).body
    assert.equal(team.price_amount, '49.50')
    assert.equal(team.price_currency, 'EUR')
    assert.equal(team.tier_rank, 2)
  })

  test('List products and tiers: every product, or one, with its tiers as rows', async () => {
    const { result, form } = await runAction(listCatalog, { product: 'all' })
    assert.deepEqual(
      (form.spec.product as { values: Record<string, string> }).values,
      { all: 'Every product', myapp: 'My App (myapp)' },
    )
    assert.equal(field(result, 'Buy link').value, `${d.publicUrl}/buy/myapp`)
    const tiers = rows(result)[0]
    assert.ok(tiers, 'the product is a group')
    const one = await runAction(listCatalog, { product: 'myapp' })
    const product = one.result?.result
    assert.equal(product?.type, 'group')
    const names = JSON.stringify(product)
    assert.match(names, /Tier: One year, 2 machines/)
    assert.match(names, /Tier: Team/)
    assert.match(names, /49\.50 EUR/)
  })

  test('Edit product and archive / restore it', async () => {
    const { result } = await runAction(editProduct, {
      homepageUrl: null,
      downloadUrl: null,
      keyInstructions: null,
      product: 'myapp',
      name: 'My App 2',
      description: null,
      priceSats: 60_000,
      entitlements: [],
    })
    assert.equal(result?.title, 'Product "My App 2" saved')
    assert.equal(field(result, 'Price').value, '60,000 sats')
    const p = (await d.admin('GET', '/products/myapp')).body
    assert.equal(p.description, 'Does things', 'kept')
    assert.equal(p.entitlements_catalog.length, 2, 'kept')
    const links = await runAction(editProduct, {
      homepageUrl: null,
      product: 'myapp',
      name: null,
      description: null,
      priceSats: null,
      entitlements: [],
      downloadUrl: 'https://example.com/myapp.dmg',
      keyInstructions: 'Paste the key in Settings → License.',
    })
    assert.equal(
      field(links.result, 'Download link').value,
      'https://example.com/myapp.dmg',
    )
    const withLinks = (await d.admin('GET', '/products/myapp')).body
    assert.equal(
      withLinks.key_instructions,
      'Paste the key in Settings → License.',
    )
    assert.equal(withLinks.homepage_url, null)
    await runAction(editProduct, {
      homepageUrl: null,
      keyInstructions: null,
      product: 'myapp',
      name: null,
      description: null,
      priceSats: null,
      entitlements: [],
      downloadUrl: '-',
    })
    const cleared = (await d.admin('GET', '/products/myapp')).body
    assert.equal(cleared.download_url, null, '"-" clears a link')
    assert.equal(
      cleared.key_instructions,
      'Paste the key in Settings → License.',
      'kept',
    )
    const dropPro = await failAction(editProduct, {
      homepageUrl: null,
      downloadUrl: null,
      keyInstructions: null,
      product: 'myapp',
      name: null,
      description: null,
      priceSats: null,
      entitlements: [{ slug: 'team', name: 'Team seats' }],
    })
    assert.equal(dropPro.code, 'entitlement_in_use')

    const off = await runAction(archiveProduct, {
      product: 'myapp',
      state: 'archived',
    })
    assert.equal(off.result?.title, 'Product "My App 2" archived')
    assert.equal((await d.admin('GET', '/products/myapp')).body.active, false)
    const on = await runAction(archiveProduct, {
      product: 'myapp',
      state: 'active',
    })
    assert.equal(field(on.result, 'On sale').value, 'yes')
    await runAction(editProduct, {
      homepageUrl: null,
      downloadUrl: null,
      keyInstructions: null,
      product: 'myapp',
      name: 'My App',
      description: null,
      priceSats: 50_000,
      entitlements: [],
    })
  })

  test('Edit policy: the tier is chosen from a list; empty fields keep theirs', async () => {
    const keepAll = {
      name: null,
      description: null,
      priceSats: null,
      priceAmount: null,
      priceCurrency: null,
      clearFiat: false,
      durationDays: null,
      graceDays: null,
      maxMachines: null,
      entitlements: [],
      isTrial: null,
      isRecurring: null,
      renewalNoticeDays: null,
      public: null,
      highlighted: null,
      tierRank: null,
      leaseDays: null,
      selfResetLimit: null,
      seatTimeoutMinutes: null,
      oneTrialPerMachine: null,
    }
    const { result, form } = await runAction(editPolicy, {
      ...keepAll,
      tier: 'myapp/default',
      leaseDays: 30,
      seatTimeoutMinutes: 15,
      oneTrialPerMachine: true,
    })
    const tiers = (form.spec.tier as { values: Record<string, string> }).values
    assert.deepEqual(Object.keys(tiers).sort(), ['myapp/default', 'myapp/team'])
    assert.equal(tiers['myapp/team'], 'My App — Team (myapp/team)')
    assert.equal(field(result, 'Offline lease').value, '30 days')
    assert.equal(field(result, 'Floating seat timeout').value, '15 minutes')
    assert.equal(field(result, 'One trial per machine').value, 'yes')
    assert.equal(field(result, 'Machines').value, '2', 'kept')
    const pol = (await d.admin('GET', '/products/myapp/policies/default')).body
    assert.equal(pol.lease_seconds, 30 * 86_400)
    assert.equal(pol.self_reset_limit, 3, 'kept')
    assert.equal(pol.seat_timeout_seconds, 900)
    assert.equal(pol.one_trial_per_machine, true)

    const priced = await runAction(editPolicy, {
      ...keepAll,
      tier: 'myapp/team',
      name: 'Team (10 seats)',
      clearFiat: true,
      public: false,
      highlighted: false,
    })
    assert.equal(priced.result?.title, 'Tier "Team (10 seats)" saved')
    assert.equal(field(priced.result, 'Price').value, '50,000 sats')
    assert.equal(field(priced.result, 'Offered on the buy page').value, 'no')

    // A tier the select does not offer: the SDK's shape check refuses it.
    await assert.rejects(
      runAction(editPolicy, { ...keepAll, tier: 'myapp/gold' }),
    )
    // Back to what the tests after this one expect.
    await runAction(editPolicy, {
      ...keepAll,
      tier: 'myapp/default',
      leaseDays: 7,
      seatTimeoutMinutes: 0,
      oneTrialPerMachine: false,
    })
  })

  test('Archive / restore tier: each run switches it', async () => {
    const off = await runAction(archivePolicy, { tier: 'myapp/team' })
    assert.equal(off.result?.title, 'Tier "Team (10 seats)" archived')
    assert.equal(
      (await d.admin('GET', '/products/myapp/policies/team')).body.archived,
      true,
    )
    const back = await runAction(archivePolicy, { tier: 'myapp/team' })
    assert.equal(back.result?.title, 'Tier "Team (10 seats)" is on sale again')
  })

  test('Issue license manually: the tier is a select; the key validates with the public API', async () => {
    const badEmail = await failAction(issueLicense, {
      tier: 'myapp/default',
      buyerEmail: 'not-an-email',
      buyerNpub: null,
      note: null,
      fingerprint: null,
    })
    assert.match(badEmail.message, /^Buyer e-mail: an e-mail address/)

    const { result, form } = await runAction(issueLicense, {
      tier: 'myapp/default',
      buyerEmail: 'ada@example.com',
      buyerNpub: null,
      note: 'conference comp',
      fingerprint: null,
    })
    assert.equal(
      (form.spec.tier as { values: Record<string, string> }).values[
        'myapp/default'
      ],
      'My App — One year, 2 machines (myapp/default)',
    )
    const key = field(result, 'License key')
    assert.equal(key.copyable, true)
    assert.equal(key.qr, true)
    licenseKey = key.value
    licenseId = field(result, 'License id').value
    assert.match(licenseKey, /^LIC1-/)
    assert.equal(field(result, 'Entitlements').value, 'pro')
    const v = await d.call('POST', '/v1/validate', {
      key: licenseKey,
      product_slug: 'myapp',
    })
    assert.equal(v.body.ok, true, JSON.stringify(v.body))
    assert.equal(v.body.license_id, licenseId)
  })

  test('Search and list licenses: as tables', async () => {
    const { result } = await runAction(searchLicenses, {
      query: 'ada@example.com',
      limit: 50,
    })
    const found = rows(result)
    assert.equal(found.length, 1)
    assert.equal(found[0]['License id'], licenseId)
    assert.equal(found[0]['Status'], 'active')
    assert.equal(found[0]['License key'], licenseKey)
    const none = await runAction(searchLicenses, {
      query: 'nobody@example.com',
      limit: 50,
    })
    assert.equal(none.result?.message, 'No license matches.')

    const listed = await runAction(listLicenses, {
      product: 'myapp',
      status: 'active',
      since: null,
      limit: 50,
    })
    assert.equal(rows(listed.result)[0]['License id'], licenseId)
    const revoked = await runAction(listLicenses, {
      product: 'all',
      status: 'revoked',
      since: null,
      limit: 50,
    })
    assert.equal(revoked.result?.message, 'No licenses.')
  })

  test('Suspend and unsuspend: the license named by its buyer; the key stops and starts validating', async () => {
    const s = await runAction(suspendLicense, {
      license: 'ada@example.com',
      reason: 'payment disputed',
    })
    assert.equal(field(s.result, 'Status').value, 'suspended')
    const v = await d.call('POST', '/v1/validate', {
      key: licenseKey,
      product_slug: 'myapp',
    })
    assert.equal(v.body.reason, 'suspended')

    const twice = await failAction(suspendLicense, {
      license: licenseId,
      reason: null,
    })
    assert.equal(twice.code, 'already_suspended')
    assert.equal(twice.message, 'the license is already suspended')
    assertPlain(twice)

    const nobody = await failAction(suspendLicense, {
      license: 'nobody@example.com',
      reason: null,
    })
    assert.equal(nobody.message, 'No license matches "nobody@example.com".')

    const u = await runAction(unsuspendLicense, {
      license: licenseKey,
      reason: null,
    })
    assert.equal(field(u.result, 'Status').value, 'active')
    const v2 = await d.call('POST', '/v1/validate', {
      key: licenseKey,
      product_slug: 'myapp',
    })
    assert.equal(v2.body.ok, true)
  })

  test('Machines: listed, freed one from a list, all freed at once', async () => {
    for (const [fp, host] of [
      [fingerprint, 'laptop'],
      ['cd'.repeat(32), 'desktop'],
    ]) {
      const act = await d.call('POST', '/v1/machines/activate', {
        key: licenseKey,
        fingerprint: fp,
        hostname: host,
      })
      assert.equal(act.body.ok, true, JSON.stringify(act.body))
    }
    const { result } = await runAction(listMachines, {
      license: 'ada@example.com',
      limit: 50,
    })
    const machines = rows(result)
    assert.equal(machines.length, 2)
    const laptop = machines.find((m) => m['Hostname'] === 'laptop')
    assert.equal(laptop?.['Active'], 'yes')

    const recent = await runAction(listMachines, { license: null, limit: 10 })
    assert.equal(rows(recent.result).length, 2)

    const off = await runAction(deactivateMachine, {
      machine: laptop?.['Machine id'],
      reason: 'new laptop',
    })
    const choices = (
      off.form.spec.machine as { values: Record<string, string> }
    ).values
    assert.match(
      choices[laptop?.['Machine id'] ?? ''],
      /^laptop — myapp, ada@example\.com \(abababababab…\)$/,
    )
    assert.equal(field(off.result, 'Why').value, 'new laptop')

    const details = await runAction(licenseDetails, { license: licenseId })
    assert.match(
      details.result?.message ?? '',
      /^active, 1 of 2 machines active\.$/,
    )
    assert.equal(field(details.result, 'Buyer e-mail').value, 'ada@example.com')

    const reset = await runAction(resetSeats, {
      license: licenseId,
      reason: 'moved',
    })
    assert.equal(reset.result?.message, '1 machine freed.')
    const empty = await runAction(listMachines, {
      license: licenseId,
      limit: 50,
    })
    assert.ok(rows(empty.result).every((m) => m['Active'] === 'no'))
    const form = await deactivateMachine.getInput({
      effects: recordingEffects().effects,
      prefill: null,
    })
    assert.equal(
      (form.spec.machine as { disabled: string }).disabled,
      'Nothing to free: no machine is active.',
    )
  })

  test('Resend license key: to the buyer npub, queued', async () => {
    const issued = await d.admin('POST', '/licenses', {
      product_slug: 'myapp',
      buyer_npub:
        '3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d',
    })
    assert.equal(issued.status, 201, JSON.stringify(issued.body))
    const { result } = await runAction(resendKey, {
      license: issued.body.license_id,
      channel: 'auto',
    })
    assert.equal(result?.title, 'License key queued for sending')
    assert.equal(field(result, 'Sent by').value, 'nostr')
    assert.match(field(result, 'To').value, /^npub1/)
    const noNpub = await failAction(resendKey, {
      license: licenseId,
      channel: 'nostr',
    })
    assertPlain(noNpub)
  })

  test('Revoke: the form wants a reason; afterwards the key is dead', async () => {
    const noReason = await failAction(revokeLicense, {
      license: licenseId,
      reason: '',
    })
    assert.equal(noReason.message, 'Reason: required')
    const { result } = await runAction(revokeLicense, {
      license: licenseId,
      reason: 'refunded',
    })
    assert.equal(field(result, 'Status').value, 'revoked')
    assert.equal(field(result, 'Revoked because').value, 'refunded')
    const v = await d.call('POST', '/v1/validate', {
      key: licenseKey,
      product_slug: 'myapp',
    })
    assert.equal(v.body.reason, 'revoked')
    const unrevoke = await failAction(unsuspendLicense, {
      license: licenseId,
      reason: null,
    })
    assert.equal(unrevoke.code, 'license_revoked')
    assert.equal(unrevoke.message, 'a revoked license cannot change state')
  })

  test('Discount codes: create, list, edit, disable, enable, delete', async () => {
    const codeInput = {
      product: 'myapp',
      code: 'launch20',
      kind: { selection: 'percent_off', value: { value: 20 } },
      policies: ['default'],
      maxUses: 100,
      maxUsesPerBuyer: null,
      validUntil: null,
      featured: false,
      referrer: null,
    }
    const { result } = await runAction(createDiscountCode, codeInput)
    assert.equal(field(result, 'Code').value, 'LAUNCH20')
    assert.equal(field(result, 'Discount').value, '20% off')

    const generated = await runAction(createDiscountCode, {
      ...codeInput,
      code: null,
      kind: { selection: 'free_license', value: {} },
      policies: [],
      maxUses: 1,
      validUntil: '2099-01-01T00:00',
      referrer: 'podcast',
    })
    const freeCode = field(generated.result, 'Code').value
    assert.match(freeCode, /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/)

    const dup = await failAction(createDiscountCode, {
      ...codeInput,
      code: 'LAUNCH20',
      kind: { selection: 'fixed_sats_off', value: { value: 1000 } },
    })
    assert.equal(dup.code, 'code_taken')
    assert.equal(dup.message, "the code 'LAUNCH20' exists already")

    const badTier = await failAction(createDiscountCode, {
      ...codeInput,
      code: 'GOLD10',
      policies: ['gold'],
    })
    assert.equal(
      badTier.message,
      "policies: product 'myapp' has no policy 'gold'",
    )

    const listed = rows(
      (await runAction(listDiscountCodes, { product: 'all' })).result,
    )
    assert.equal(listed.length, 2)
    const launch = listed.find((r) => r['Code'] === 'LAUNCH20')
    assert.equal(launch?.['Active'], 'yes')
    assert.equal(launch?.['Uses'], '0 of 100')

    const edited = await runAction(editDiscountCode, {
      code: 'LAUNCH20',
      kind: { selection: 'fixed_sats_off', value: { value: 5000 } },
      policies: [],
      everyTier: true,
      maxUses: 0,
      validUntil: null,
      noEnd: false,
      featured: true,
      referrer: 'newsletter',
    })
    const codes = (edited.form.spec.code as { values: Record<string, string> })
      .values
    assert.equal(codes.LAUNCH20, 'LAUNCH20 (myapp, active)')
    assert.equal(field(edited.result, 'Discount').value, '5,000 sats off')
    assert.equal(field(edited.result, 'Tiers').value, 'every tier')
    assert.equal(field(edited.result, 'Uses').value, '0', 'no limit')
    assert.equal(field(edited.result, 'Featured').value, 'yes')
    assert.equal(field(edited.result, 'Referrer').value, 'newsletter')

    const off = await runAction(setDiscountCodeActive, {
      code: 'LAUNCH20',
      state: 'disabled',
    })
    assert.equal(off.result?.title, 'Discount code LAUNCH20 disabled')
    assert.equal(
      (await d.admin('GET', '/discount-codes/LAUNCH20')).body.active,
      false,
    )
    const on = await runAction(setDiscountCodeActive, {
      code: 'LAUNCH20',
      state: 'enabled',
    })
    assert.equal(field(on.result, 'Active').value, 'yes')

    const gone = await runAction(deleteDiscountCode, { code: freeCode })
    assert.equal(gone.result?.title, `Discount code ${freeCode} deleted`)
    assert.equal(field(gone.result, 'Referrer').value, 'podcast')
    assert.equal(
      (await d.admin('GET', `/discount-codes/${freeCode}`)).status,
      404,
    )
  })

  test('Sales, revenue and customers: a paid sale shows in each', async () => {
    const empty = await runAction(listSales, {
      state: 'all',
      product: 'all',
      buyer: null,
      since: null,
      limit: 50,
    })
    assert.equal(empty.result?.message, 'No sales.')

    const bought = await d.call('POST', '/v1/purchase', {
      product: 'myapp',
      policy_slug: 'default',
      buyer_email: 'grace@example.com',
    })
    assert.equal(bought.status, 200, JSON.stringify(bought.body))
    const checkout = new URL(bought.body.checkout_url)
    const paid = await fetch(`${d.publicUrl}${checkout.pathname}/pay`, {
      method: 'POST',
      redirect: 'manual',
    })
    assert.ok(paid.status < 400, `paid: HTTP ${paid.status}`)

    const sales = await runAction(listSales, {
      state: 'settled',
      product: 'myapp',
      buyer: null,
      since: null,
      limit: 50,
    })
    const [sale] = rows(sales.result)
    assert.equal(sale['Buyer e-mail'], 'grace@example.com')
    assert.equal(sale['Amount'], '50,000 sats')
    assert.equal(sale['Status'], 'settled')

    const details = await runAction(saleDetails, {
      invoice: sale['Invoice id'],
    })
    assert.equal(
      field(details.result, 'Buyer e-mail').value,
      'grace@example.com',
    )
    assert.match(field(details.result, 'License id').value, /^[0-9a-f-]{36}$/)

    const revenue = await runAction(revenueSummary, {
      groupBy: 'product',
      from: null,
      to: null,
    })
    assert.equal(field(revenue.result, 'Sales').value, '1')
    assert.equal(field(revenue.result, 'Bitcoin').value, '50,000 sats')
    assert.deepEqual(
      rows(revenue.result).map((r) => r['Bitcoin']),
      ['50,000 sats', '50,000 sats'],
      'the totals, then the one product',
    )

    const customers = await runAction(listCustomers, {
      query: 'grace',
      limit: 50,
    })
    const [grace] = rows(customers.result)
    assert.equal(grace['E-mail'], 'grace@example.com')
    assert.equal(grace['Sales'], '1')
    const one = await runAction(customerDetails, {
      customer: grace['Customer id'],
    })
    assert.equal(one.result?.title, 'grace@example.com')
    assert.equal(field(one.result, 'Paid in bitcoin').value, '50,000 sats')
  })

  test('Notification settings and relays: the npub and switches are saved and prefilled', async () => {
    const npub =
      'npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6'
    const { result, form } = await runAction(notificationSettings, {
      npub,
      notices: ['sale', 'backup_failed'],
    })
    const notices = form.spec.notices as { values: Record<string, string> }
    assert.equal(notices.values.sale, 'A sale (a license paid for)')
    assert.equal(field(result, 'Your npub').value, npub)
    const s = (await d.admin('GET', '/settings')).body
    assert.equal(s.operator_npub, npub)
    assert.equal(s.notifications.sale, true)
    assert.equal(s.notifications.free_redemption, false)
    const again = await runAction(notificationSettings, {
      npub: null,
      notices: [],
    })
    assert.deepEqual(again.form.value, { npub }, 'prefilled')
    assert.equal(
      again.result?.message,
      'No npub is set: Keysat sends you no notices.',
    )

    const relays = await runAction(nostrRelays, {
      relays: ['ws://127.0.0.1:9', 'ws://127.0.0.1:10'],
    })
    assert.deepEqual(relays.form.value, { relays: ['ws://127.0.0.1:9'] })
    assert.match(field(relays.result, "Keysat's npub").value, /^npub1/)
    assert.equal(rows(relays.result).length, 2)
    await runAction(nostrRelays, { relays: ['ws://127.0.0.1:9'] })
  })

  test('API keys: created (shown once), listed, revoked from a list', async () => {
    const { result } = await runAction(createApiKey, {
      name: 'website',
      scopes: ['issuer'],
    })
    const key = field(result, 'API key')
    assert.equal(key.masked, true)
    const issued = await fetch(`${d.adminUrl}/v1/admin/licenses`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key.value}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ product_slug: 'myapp' }),
    })
    assert.equal(issued.status, 201, 'an issuer key issues')
    const listed = rows((await runAction(listApiKeys)).result)
    assert.equal(listed.length, 1)
    assert.equal(listed[0]['Scopes'], 'issuer')
    assert.notEqual(listed[0]['Last used'], 'never')
    const revoked = await runAction(revokeApiKey, { key: listed[0]['Key id'] })
    assert.equal(revoked.result?.title, 'API key "website" revoked')
    const after = await fetch(`${d.adminUrl}/v1/admin/licenses`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key.value}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ product_slug: 'myapp' }),
    })
    assert.equal(after.status, 401)
  })

  test('Service status, backups, back up now', async () => {
    const status = await runAction(serviceStatus)
    assert.match(status.result?.title ?? '', /^Keysat \d+\.\d+\.\d+/)
    assert.ok(Number(field(status.result, 'Licenses').value) >= 3)
    const taken = await runAction(backUpNow)
    assert.equal(taken.result?.title, 'Backup taken')
    assert.match(field(taken.result, 'File').value, /^keysat-.*\.db$/)
    const b = await runAction(backupStatus)
    assert.match(field(b.result, 'Last backup').value, /keysat-.*\.db/)
  })

  test('Import licenses: check first, then import; a bad row imports nothing', async () => {
    const bad = await runAction(importLicenses, {
      mode: 'import',
      csv: 'product,tier,email\nmyapp,default,lin@example.com\nnope,default,x@example.com\n',
    })
    assert.equal(bad.result?.title, 'Rows with errors: nothing was imported')
    assert.match(JSON.stringify(bad.result), /"Problem".*no product 'nope'/)
    const csv = 'product,tier,email\nmyapp,default,lin@example.com\n'
    const check = await runAction(importLicenses, { mode: 'check', csv })
    assert.equal(check.result?.title, 'The CSV is ready to import')
    assert.equal(field(check.result, 'Would create').value, '1')
    const done = await runAction(importLicenses, { mode: 'import', csv })
    assert.equal(field(done.result, 'Created').value, '1')
    const again = await runAction(importLicenses, { mode: 'import', csv })
    assert.equal(field(again.result, 'Imported before').value, '1')
  })

  test('Export data: a link that downloads the file once', async () => {
    const { result } = await runAction(exportData, {
      kind: 'licenses',
      format: 'csv',
      from: null,
      to: null,
    })
    assert.equal(result?.title, 'Your download link')
    const path = field(result, 'Path').value
    assert.match(path, /^\/download\/[A-Za-z0-9_-]{43}$/)
    assert.ok(field(result, 'Link').value.endsWith(path))
    const file = await fetch(`${d.publicUrl}${path}`)
    assert.equal(file.status, 200)
    assert.match(file.headers.get('content-type') ?? '', /^text\/csv/)
    const csv = await file.text()
    assert.match(csv.split('\r\n')[0], /^license_id,/)
    assert.match(csv, /lin@example\.com/)
    assert.equal((await fetch(`${d.publicUrl}${path}`)).status, 404)
  })

  test('Check unpaid invoices now: the demo provider is asked', async () => {
    const { result } = await runAction(reconcileBtcpay)
    assert.equal(result?.title, 'Unpaid invoices checked')
  })

  test('View audit log: every step above, newest first, filterable', async () => {
    const { result } = await runAction(viewAuditLog, {
      action: 'all',
      target: null,
      since: null,
      limit: 500,
    })
    const what = rows(result).map((r) => r['What'])
    for (const step of [
      'settings.update',
      'product.create',
      'product.update',
      'policy.create',
      'policy.update',
      'license.issue',
      'license.suspend',
      'license.unsuspend',
      'machine.deactivate',
      'license.revoke',
      'discount_code.create',
      'discount_code.update',
      'discount_code.disable',
      'discount_code.enable',
      'discount_code.delete',
    ]) {
      assert.ok(
        what.includes(step),
        `${step} is in the audit log: ${what.join(', ')}`,
      )
    }

    const revokes = rows(
      (
        await runAction(viewAuditLog, {
          action: 'license.revoke',
          target: licenseId,
          since: null,
          limit: 50,
        })
      ).result,
    )
    assert.equal(revokes.length, 1)
    assert.match(revokes[0]['Details'], /"reason":"refunded"/)

    const future = await runAction(viewAuditLog, {
      action: 'all',
      target: null,
      since: '2099-01-01T00:00',
      limit: 50,
    })
    assert.equal(future.result?.message, 'No entries.')
  })

  test('A stopped daemon: the operator is told to start Keysat, not shown a crash', async () => {
    await d.stop()
    const e = await failAction(searchLicenses, { query: 'ada', limit: 5 })
    assert.equal(e.code, 'unreachable')
    assert.match(
      e.message,
      /^Keysat is not answering at http:\/\/127\.0\.0\.1:\d+ — is the service running\?/,
    )
    assertPlain(e)
  })
})
