/**
 * The outbound-webhook actions against a live daemon: register an endpoint
 * (its secret shown once), list it, follow a delivery; a bad address is
 * refused by the form's rules or by the daemon, in one plain sentence.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { deleteWebhookEndpoint } from '../actions/deleteWebhookEndpoint'
import { editWebhookEndpoint } from '../actions/editWebhookEndpoint'
import { retryWebhookDelivery } from '../actions/retryWebhookDelivery'
import { rotateWebhookSecret } from '../actions/rotateWebhookSecret'
import { webhookDeliveryDetails } from '../actions/webhookDeliveryDetails'
import { listWebhookEndpoints } from '../actions/listWebhookEndpoints'
import { registerWebhookEndpoint } from '../actions/registerWebhookEndpoint'
import { showWebhookDeliveries } from '../actions/showWebhookDeliveries'
import {
  attach,
  Daemon,
  failAction,
  field,
  freePort,
  rows,
  runAction,
  startDaemon,
} from './harness'

describe('webhook actions against a live daemon', () => {
  let d: Daemon
  let detach: () => Promise<void>
  let hookUrl = ''
  let endpointId = ''

  before(async () => {
    d = await startDaemon()
    detach = (await attach(d)).detach
    // Nothing listens there: deliveries stay pending.
    hookUrl = `http://127.0.0.1:${await freePort()}/keysat`
  })
  after(async () => {
    await detach?.()
    await d?.dispose()
  })

  test('List webhook endpoints before any: says how to add one', async () => {
    const { result } = await runAction(listWebhookEndpoints)
    assert.equal(
      result?.message,
      'No webhook endpoints yet (action "Register webhook endpoint").',
    )
    assert.deepEqual(rows(result), [])
  })

  test('Register webhook endpoint: the secret is shown once, copyable', async () => {
    const { result } = await runAction(registerWebhookEndpoint, {
      url: ` ${hookUrl} `,
      events: ['license.issued', 'license.revoked'],
      description: 'ERP',
    })
    assert.equal(result?.title, 'Webhook endpoint registered')
    assert.match(result?.message ?? '', /shown only this once/)
    const secret = field(result, 'Signing secret')
    assert.match(secret.value, /^whsec_/)
    assert.equal(secret.copyable, true)
    assert.equal(secret.masked, true)
    endpointId = field(result, 'Endpoint id').value
    assert.equal(field(result, 'URL').value, hookUrl)
    assert.equal(
      field(result, 'Events').value,
      'license.issued, license.revoked',
    )
    const listed = (await d.admin('GET', '/webhook-endpoints')).body.endpoints
    assert.equal(listed.length, 1)
    assert.equal(listed[0].id, endpointId)
    assert.equal(listed[0].description, 'ERP')
    assert.equal(listed[0].active, true)
    assert.equal(listed[0].secret, undefined, 'never shown again')
  })

  test('Register webhook endpoint: no event chosen means every type', async () => {
    const { result } = await runAction(registerWebhookEndpoint, {
      url: 'http://127.0.0.1:9/all',
      events: [],
      description: null,
    })
    assert.equal(field(result, 'Events').value, 'every event type')
    const all = (await d.admin('GET', '/webhook-endpoints')).body.endpoints
    assert.deepEqual(
      all.find((e: { url: string }) => e.url === 'http://127.0.0.1:9/all')
        ?.events,
      ['*'],
    )
  })

  test('Register webhook endpoint: a bad address is refused by the form, or by the daemon in its own words', async () => {
    const byForm = await failAction(registerWebhookEndpoint, {
      url: 'ftp://erp.example.com/keysat',
      events: [],
      description: null,
    })
    assert.equal(byForm.code, 'invalid_input')
    assert.equal(
      byForm.message,
      'URL: an address starting with https:// or http://',
    )
    // An event type the form does not offer: the SDK's own shape check refuses it.
    await assert.rejects(
      runAction(registerWebhookEndpoint, {
        url: hookUrl,
        events: ['license.stolen'],
        description: null,
      }),
    )

    const byDaemon = await failAction(registerWebhookEndpoint, {
      url: 'http://[oops]/keysat',
      events: [],
      description: null,
    })
    assert.equal(byDaemon.code, 'invalid_field')
    assert.equal(byDaemon.message, "url: 'http://[oops]/keysat' is not a URL")
    assert.equal(byDaemon.stack, byDaemon.message, 'no stack trace')
    assert.equal(
      (await d.admin('GET', '/webhook-endpoints')).body.endpoints.length,
      2,
      'nothing registered',
    )
  })

  test('List webhook endpoints: each with its events and deliveries', async () => {
    const { result } = await runAction(listWebhookEndpoints)
    assert.equal(result?.message, '2 endpoints.')
    const erp = rows(result).find((r) => r['Endpoint id'] === endpointId)
    assert.ok(erp, 'the registered endpoint is listed')
    assert.equal(erp['URL'], hookUrl)
    assert.equal(erp['Events'], 'license.issued, license.revoked')
    assert.equal(erp['Active'], 'yes')
    assert.equal(erp['Description'], 'ERP')
    assert.equal(erp['Pending'], '0')
    assert.equal(erp['Dead-letter'], '0')
  })

  test('Show webhook deliveries: an issued license is on its way to the endpoint', async () => {
    const created = await d.admin('POST', '/products', {
      slug: 'myapp',
      name: 'My App',
      price_sats: 1000,
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    await d.admin('POST', '/products/myapp/policies', {
      slug: 'default',
      name: 'Default',
    })
    const issued = await d.admin('POST', '/licenses', {
      product_slug: 'myapp',
    })
    assert.equal(issued.status, 201, JSON.stringify(issued.body))

    const { result, form } = await runAction(showWebhookDeliveries, {
      endpoint: endpointId,
      state: 'pending',
      limit: 50,
    })
    const choices = (form.spec.endpoint as { values: Record<string, string> })
      .values
    assert.equal(choices.all, 'Every endpoint')
    assert.match(choices[endpointId], /keysat — ERP$/, 'endpoints by address')
    const [delivery, ...more] = rows(result)
    assert.deepEqual(more, [], 'one subscribed event so far')
    assert.equal(delivery['Event'], 'license.issued')
    assert.equal(delivery['Endpoint'], hookUrl)
    assert.equal(delivery['State'], 'pending')

    const none = await runAction(showWebhookDeliveries, {
      endpoint: endpointId,
      state: 'dead',
      limit: 50,
    })
    assert.equal(none.result?.message, 'No deliveries.')
  })

  test('Webhook delivery details and retry: the receiver answers now', async () => {
    const [first] = (
      await d.admin('GET', `/webhook-deliveries?endpoint_id=${endpointId}`)
    ).body.deliveries
    const details = await runAction(webhookDeliveryDetails, {
      delivery: first.id,
    })
    assert.equal(details.result?.title, 'Delivery of license.issued')
    assert.equal(field(details.result, 'Delivery id').value, first.id)

    // Nothing listens: the retry is tried and fails, in plain words.
    const failed = await runAction(retryWebhookDelivery, { delivery: first.id })
    assert.equal(failed.result?.title, 'Not delivered')

    // A receiver that accepts: point the endpoint at it, retry, delivered.
    const received: string[] = []
    const server = createServer((req, res) => {
      req.on('data', (c) => received.push(String(c)))
      req.on('end', () => res.writeHead(200).end('ok'))
    })
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
    const port = (server.address() as { port: number }).port
    try {
      const moved = await runAction(editWebhookEndpoint, {
        endpoint: endpointId,
        active: null,
        url: `http://127.0.0.1:${port}/hook`,
        events: [],
        everyEvent: false,
        description: null,
      })
      assert.equal(
        field(moved.result, 'URL').value,
        `http://127.0.0.1:${port}/hook`,
      )
      assert.equal(
        field(moved.result, 'Events').value,
        'license.issued, license.revoked',
        'kept',
      )
      const ok = await runAction(retryWebhookDelivery, { delivery: first.id })
      assert.equal(ok.result?.title, 'Delivered', JSON.stringify(ok.result))
      assert.match(received.join(''), /license\.issued/)
    } finally {
      server.close()
    }
  })

  test('Edit webhook endpoint: pause and resume; every event type', async () => {
    const paused = await runAction(editWebhookEndpoint, {
      endpoint: endpointId,
      active: false,
      url: null,
      events: [],
      everyEvent: false,
      description: null,
    })
    assert.equal(paused.result?.title, 'Webhook endpoint saved (paused)')
    assert.equal(field(paused.result, 'Active').value, 'no (paused)')
    const on = await runAction(editWebhookEndpoint, {
      endpoint: endpointId,
      active: true,
      url: null,
      events: [],
      everyEvent: true,
      description: 'ERP (all)',
    })
    assert.equal(field(on.result, 'Active').value, 'yes')
    assert.equal(field(on.result, 'Events').value, 'every event type')
    assert.equal(field(on.result, 'Description').value, 'ERP (all)')
  })

  test('Rotate webhook secret: a new secret, shown once', async () => {
    const { result } = await runAction(rotateWebhookSecret, {
      endpoint: endpointId,
    })
    const secret = field(result, 'Signing secret')
    assert.match(secret.value, /^whsec_/)
    assert.equal(secret.masked, true)
  })

  test('Delete webhook endpoint: gone, and what it was is shown', async () => {
    const { result } = await runAction(deleteWebhookEndpoint, {
      endpoint: endpointId,
    })
    assert.equal(result?.title, 'Webhook endpoint deleted')
    assert.equal(field(result, 'Endpoint id').value, endpointId)
    const left = (await d.admin('GET', '/webhook-endpoints')).body.endpoints
    assert.ok(!left.some((e: { id: string }) => e.id === endpointId))
  })
})
