/**
 * The subscription and license-terms actions against a live daemon (demo
 * mode, so a checkout can be made): list subscriptions, change a license's
 * tier (a comp at once; a move down scheduled for the renewal), adjust a
 * license, cancel a subscription — each checked in the daemon's own state.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { adjustLicense } from '../actions/adjustLicense'
import { cancelSubscription } from '../actions/cancelSubscription'
import { changeTier } from '../actions/changeTier'
import { listSubscriptions } from '../actions/listSubscriptions'
import {
  attach,
  Daemon,
  failAction,
  field,
  rows,
  runAction,
  startDaemon,
} from './harness'

const MONTH = 30 * 86_400

describe('subscription actions against a live daemon', () => {
  let d: Daemon
  let detach: () => Promise<void>
  let licenseId = ''
  let licenseKey = ''
  let subscriptionId = ''

  before(async () => {
    d = await startDaemon({ env: { KEYSAT_DEMO: '1' } })
    detach = (await attach(d)).detach
    const catalog = [
      { slug: 'sync', name: 'Sync' },
      { slug: 'pro', name: 'Pro' },
      { slug: 'team', name: 'Team' },
    ]
    await d.admin('POST', '/products', {
      slug: 'myapp',
      name: 'My App',
      price_sats: 5000,
      entitlements_catalog: catalog,
    })
    const tier = { is_recurring: true, duration_seconds: MONTH }
    for (const t of [
      {
        slug: 'monthly',
        name: 'Monthly',
        price_sats: 5000,
        tier_rank: 1,
        entitlements: ['sync'],
      },
      {
        slug: 'pro',
        name: 'Pro',
        price_sats: 20_000,
        tier_rank: 2,
        entitlements: ['pro', 'sync'],
      },
    ]) {
      const r = await d.admin('POST', '/products/myapp/policies', {
        ...t,
        ...tier,
      })
      assert.equal(r.status, 201, JSON.stringify(r.body))
    }
    const l = await d.admin('POST', '/licenses', {
      product_slug: 'myapp',
      policy_slug: 'monthly',
    })
    licenseId = l.body.license_id
    licenseKey = l.body.license_key
  })
  after(async () => {
    await detach?.()
    await d?.dispose()
  })

  test('List subscriptions: a license of a recurring tier has one', async () => {
    const { result } = await runAction(listSubscriptions, {
      state: 'any',
      product: 'myapp',
      license: null,
      limit: 50,
    })
    const r = rows(result)
    assert.equal(r.length, 1)
    assert.equal(r[0]['License id'], licenseId)
    assert.equal(r[0]['State'], 'active')
    assert.equal(r[0]['Tier'], 'monthly')
    assert.match(r[0]['Renew link (for the buyer)'], /\/renew\?license=/)
    subscriptionId = r[0]['Subscription id']
  })

  test('Change license tier: free of charge at once; a move down waits for the renewal', async () => {
    const up = await runAction(changeTier, {
      license: licenseId,
      tier: 'myapp/pro',
      skipPayment: true,
      reason: 'beta tester',
    })
    assert.equal(up.result?.title, 'Tier changed')
    assert.equal(field(up.result, 'Tier').value, 'Pro (pro)')
    const v = await d.call('POST', '/v1/validate', { key: licenseKey })
    assert.deepEqual(
      v.body.entitlements,
      ['pro', 'sync'],
      'the old key sees it',
    )

    const down = await runAction(changeTier, {
      license: licenseId,
      tier: 'myapp/monthly',
      skipPayment: false,
      reason: null,
    })
    assert.equal(down.result?.title, 'Change scheduled')
    const sub = (await d.admin('GET', `/subscriptions/${subscriptionId}`)).body
    assert.equal(sub.next_policy_slug, 'monthly')

    const same = await failAction(changeTier, {
      license: licenseId,
      tier: 'myapp/pro',
      skipPayment: true,
      reason: null,
    })
    assert.equal(same.code, 'same_tier')
  })

  test('Adjust license: extended, seats and entitlements changed, signed again', async () => {
    const before = (await d.admin('GET', `/licenses/${licenseId}`)).body
    const nothing = await failAction(adjustLicense, {
      license: licenseId,
      extendDays: null,
      maxMachines: null,
      addEntitlements: null,
      removeEntitlements: null,
      notify: true,
      reason: null,
    })
    assert.equal(nothing.code, 'invalid_input')
    const { result } = await runAction(adjustLicense, {
      license: licenseId,
      extendDays: 10,
      maxMachines: 9,
      addEntitlements: 'team',
      removeEntitlements: 'sync',
      notify: false,
      reason: 'support ticket',
    })
    assert.equal(result?.title, 'License adjusted')
    assert.equal(field(result, 'Machines allowed').value, '9')
    assert.equal(field(result, 'Entitlements').value, 'pro, team')
    const after = (await d.admin('GET', `/licenses/${licenseId}`)).body
    assert.notEqual(after.license_key, before.license_key, 'a new key')
    assert.equal(
      Date.parse(after.expires_at) - Date.parse(before.expires_at),
      10 * 86_400_000,
    )
    const bad = await failAction(adjustLicense, {
      license: licenseId,
      extendDays: null,
      maxMachines: null,
      addEntitlements: 'gold',
      removeEntitlements: null,
      notify: false,
      reason: null,
    })
    assert.equal(bad.code, 'invalid_field')
  })

  test('Cancel subscription: no more reminders, runs to its end', async () => {
    const { result } = await runAction(cancelSubscription, {
      subscription: subscriptionId,
      reason: 'asked by the buyer',
    })
    assert.equal(result?.title, 'Subscription canceled')
    assert.equal(field(result, 'State').value, 'canceled')
    const twice = await failAction(cancelSubscription, {
      subscription: subscriptionId,
      reason: null,
    })
    assert.equal(twice.code, 'already_canceled')
    const listed = await runAction(listSubscriptions, {
      state: 'canceled',
      product: 'all',
      license: licenseId,
      limit: 50,
    })
    assert.equal(rows(listed.result).length, 1)
    const v = await d.call('POST', '/v1/validate', { key: licenseKey })
    assert.equal(v.body.ok, true, 'the paid period still runs')
  })
})
