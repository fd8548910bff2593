/**
 * Every operator action against a live daemon: create product → create
 * policy → issue → search → suspend → unsuspend → machines → revoke →
 * discount codes → audit log shows each step; bad input is refused by the
 * form's rules or by the daemon, and the operator reads one plain message.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createDiscountCode } from '../actions/createDiscountCode'
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
    d = await startDaemon()
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
      name: '  Ada Software ',
    })
    assert.equal(field(result, 'Operator name').value, 'Ada Software')
    assert.equal(
      (await d.admin('GET', '/settings')).body.operator_name,
      'Ada Software',
    )
    const again = await runAction(setOperatorName, { name: 'Ada Software Ltd' })
    assert.deepEqual(
      again.form.value,
      { name: 'Ada Software' },
      'the form is prefilled',
    )
    await runAction(setOperatorName, { name: null })
    assert.equal((await d.admin('GET', '/settings')).body.operator_name, null)
    await runAction(setOperatorName, { name: 'Ada Software' })
  })

  test('Create product: the form refuses a bad slug before the daemon sees it', async () => {
    const e = await failAction(createProduct, {
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
      durationDays: 365,
      graceDays: 7,
      maxMachines: 2,
      entitlements: ['pro'],
      isTrial: false,
      public: true,
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

    const unknown = await failAction(createPolicy, {
      ...input,
      product: 'nope',
    })
    assert.equal(
      unknown.code,
      'invalid_input',
      'a product not offered by the select',
    )

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
  })

  test("Edit policy: the tier's machine rules change; empty fields keep theirs", async () => {
    const { result } = await runAction(editPolicy, {
      product: 'myapp',
      slug: 'default',
      maxMachines: null,
      leaseDays: 30,
      selfResetLimit: null,
      seatTimeoutMinutes: 15,
      oneTrialPerMachine: 'yes',
    })
    assert.equal(field(result, 'Offline lease').value, '30 days')
    assert.equal(field(result, 'Floating seat timeout').value, '15 minutes')
    assert.equal(field(result, 'One trial per machine').value, 'yes')
    assert.equal(field(result, 'Machines').value, '2', 'kept')
    const pol = (await d.admin('GET', '/products/myapp/policies/default')).body
    assert.equal(pol.lease_seconds, 30 * 86_400)
    assert.equal(pol.self_reset_limit, 3, 'kept')
    assert.equal(pol.seat_timeout_seconds, 900)
    assert.equal(pol.one_trial_per_machine, true)
    const bad = await failAction(editPolicy, {
      product: 'myapp',
      slug: 'gold',
      maxMachines: null,
      leaseDays: null,
      selfResetLimit: null,
      seatTimeoutMinutes: null,
      oneTrialPerMachine: 'keep',
    })
    assert.equal(bad.code, 'not_found')
    // Back to what the tests after this one expect.
    await runAction(editPolicy, {
      product: 'myapp',
      slug: 'default',
      maxMachines: null,
      leaseDays: 7,
      selfResetLimit: null,
      seatTimeoutMinutes: 0,
      oneTrialPerMachine: 'no',
    })
  })

  test('Issue license manually: the key validates with the public API', async () => {
    const badEmail = await failAction(issueLicense, {
      product: 'myapp',
      policy: 'default',
      buyerEmail: 'not-an-email',
      buyerNpub: null,
      note: null,
      fingerprint: null,
    })
    assert.match(badEmail.message, /^Buyer e-mail: an e-mail address/)

    const noTier = await failAction(issueLicense, {
      product: 'myapp',
      policy: 'gold',
      buyerEmail: null,
      buyerNpub: null,
      note: null,
      fingerprint: null,
    })
    assert.equal(noTier.code, 'not_found')
    assert.equal(noTier.message, "product 'myapp' has no policy 'gold'")

    const { result } = await runAction(issueLicense, {
      product: 'myapp',
      policy: 'default',
      buyerEmail: 'ada@example.com',
      buyerNpub: null,
      note: 'conference comp',
      fingerprint: null,
    })
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

  test('Search licenses: by buyer e-mail, as a table', async () => {
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
  })

  test('Suspend and unsuspend: the key stops and starts validating', async () => {
    const bad = await failAction(suspendLicense, {
      licenseId: 'not-an-id',
      reason: null,
    })
    assert.match(bad.message, /^License id: an id such as/)

    const s = await runAction(suspendLicense, {
      licenseId,
      reason: 'payment disputed',
    })
    assert.equal(field(s.result, 'Status').value, 'suspended')
    const v = await d.call('POST', '/v1/validate', {
      key: licenseKey,
      product_slug: 'myapp',
    })
    assert.equal(v.body.reason, 'suspended')

    const twice = await failAction(suspendLicense, { licenseId, reason: null })
    assert.equal(twice.code, 'already_suspended')
    assert.equal(twice.message, 'the license is already suspended')
    assertPlain(twice)

    const u = await runAction(unsuspendLicense, { licenseId, reason: null })
    assert.equal(field(u.result, 'Status').value, 'active')
    const v2 = await d.call('POST', '/v1/validate', {
      key: licenseKey,
      product_slug: 'myapp',
    })
    assert.equal(v2.body.ok, true)
  })

  test('List machines and deactivate one: the seat is free again', async () => {
    const act = await d.call('POST', '/v1/machines/activate', {
      key: licenseKey,
      fingerprint,
      hostname: 'laptop',
    })
    assert.equal(act.body.ok, true, JSON.stringify(act.body))
    const { result } = await runAction(listMachines, { licenseId, limit: 50 })
    const machines = rows(result)
    assert.equal(machines.length, 1)
    assert.equal(machines[0]['Hostname'], 'laptop')
    assert.equal(machines[0]['Active'], 'yes')
    const machineId = machines[0]['Machine id']

    const recent = await runAction(listMachines, { licenseId: null, limit: 10 })
    assert.equal(rows(recent.result)[0]['Machine id'], machineId)

    const off = await runAction(deactivateMachine, {
      machineId,
      reason: 'new laptop',
    })
    assert.equal(field(off.result, 'Why').value, 'new laptop')
    const again = await failAction(deactivateMachine, {
      machineId,
      reason: null,
    })
    assert.equal(again.code, 'already_inactive')
    assert.equal(again.message, 'the machine holds no seat')
    const after = rows(
      (await runAction(listMachines, { licenseId, limit: 50 })).result,
    )
    assert.equal(after[0]['Active'], 'no')
  })

  test('Revoke: the form wants a reason; afterwards the key is dead', async () => {
    const noReason = await failAction(revokeLicense, {
      licenseId,
      reason: null,
    })
    assert.equal(noReason.message, 'Reason: required')
    const { result } = await runAction(revokeLicense, {
      licenseId,
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
      licenseId,
      reason: null,
    })
    assert.equal(unrevoke.code, 'license_revoked')
    assert.equal(unrevoke.message, 'a revoked license cannot change state')
  })

  test('Discount codes: create, list, disable, enable', async () => {
    const { result } = await runAction(createDiscountCode, {
      product: 'myapp',
      code: 'launch20',
      kind: { selection: 'percent_off', value: { value: 20 } },
      policies: ['default'],
      maxUses: 100,
      maxUsesPerBuyer: null,
      validUntil: null,
      referrer: null,
    })
    assert.equal(field(result, 'Code').value, 'LAUNCH20')
    assert.equal(field(result, 'Discount').value, '20% off')

    const generated = await runAction(createDiscountCode, {
      product: 'myapp',
      code: null,
      kind: { selection: 'free_license', value: {} },
      policies: [],
      maxUses: 1,
      maxUsesPerBuyer: null,
      validUntil: '2099-01-01T00:00',
      referrer: 'podcast',
    })
    assert.match(
      field(generated.result, 'Code').value,
      /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/,
    )

    const dup = await failAction(createDiscountCode, {
      product: 'myapp',
      code: 'LAUNCH20',
      kind: { selection: 'fixed_sats_off', value: { value: 1000 } },
      policies: [],
      maxUses: null,
      maxUsesPerBuyer: null,
      validUntil: null,
      referrer: null,
    })
    assert.equal(dup.code, 'code_taken')
    assert.equal(dup.message, "the code 'LAUNCH20' exists already")

    const badTier = await failAction(createDiscountCode, {
      product: 'myapp',
      code: 'GOLD10',
      kind: { selection: 'percent_off', value: { value: 10 } },
      policies: ['gold'],
      maxUses: null,
      maxUsesPerBuyer: null,
      validUntil: null,
      referrer: null,
    })
    assert.equal(
      badTier.message,
      "policies: product 'myapp' has no policy 'gold'",
    )

    const listed = rows(
      (await runAction(listDiscountCodes, { product: null })).result,
    )
    assert.equal(listed.length, 2)
    const launch = listed.find((r) => r['Code'] === 'LAUNCH20')
    assert.equal(launch?.['Active'], 'yes')
    assert.equal(launch?.['Uses'], '0 of 100')

    const off = await runAction(setDiscountCodeActive, {
      code: 'launch20',
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

    const missing = await failAction(setDiscountCodeActive, {
      code: 'NOPE-NOPE',
      state: 'enabled',
    })
    assert.equal(missing.code, 'not_found')
    assert.equal(missing.message, "no discount code 'NOPE-NOPE'")
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
      'policy.create',
      'license.issue',
      'license.suspend',
      'license.unsuspend',
      'machine.deactivate',
      'license.revoke',
      'discount_code.create',
      'discount_code.disable',
      'discount_code.enable',
    ]) {
      assert.ok(
        what.includes(step),
        `${step} is in the audit log: ${what.join(', ')}`,
      )
    }
    assert.equal(what[0], 'discount_code.enable', 'newest first')

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
