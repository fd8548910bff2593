/**
 * "Connect Stripe" and "Refund a sale" against a live daemon: the first with
 * a stand-in for Stripe's webhook endpoint API (what connecting calls), the
 * second on a sale paid in demo mode (the simulated provider refunds).
 */
import assert from 'node:assert/strict'
import { createServer, Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { connectStripe } from '../actions/connectStripe'
import { refundSale } from '../actions/refundSale'
import {
  attach,
  Daemon,
  failAction,
  field,
  runAction,
  startDaemon,
} from './harness'

/** Stripe's `/v1/webhook_endpoints`, form-encoded in, JSON out; one key works. */
function fakeStripe(key: string) {
  const endpoints: { id: string; url: string }[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      const send = (status: number, v: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(v))
      }
      if (req.headers.authorization !== `Bearer ${key}`) {
        return send(401, {
          error: {
            type: 'invalid_request_error',
            code: 'api_key_invalid',
            message: 'Invalid API Key provided',
          },
        })
      }
      const path = (req.url ?? '').split('?')[0]
      if (req.method === 'GET' && path === '/v1/webhook_endpoints') {
        return send(200, { object: 'list', has_more: false, data: endpoints })
      }
      if (req.method === 'POST' && path === '/v1/webhook_endpoints') {
        const form = new URLSearchParams(body)
        const e = {
          id: `we_${endpoints.length + 1}`,
          url: form.get('url') ?? '',
        }
        endpoints.push(e)
        return send(200, {
          ...e,
          object: 'webhook_endpoint',
          status: 'enabled',
          secret: 'whsec_fake',
          enabled_events: form.getAll('enabled_events[0]'),
        })
      }
      send(404, {
        error: {
          type: 'invalid_request_error',
          message: `Unrecognized request URL (${req.method}: ${path})`,
        },
      })
    })
  })
  return { server, endpoints }
}

describe('Stripe actions against a live daemon', () => {
  let d: Daemon
  let detach: () => Promise<void>
  const stripe = fakeStripe('sk_test_keysat123456')

  before(async () => {
    await new Promise<void>((ok) =>
      stripe.server.listen(0, '127.0.0.1', () => ok()),
    )
    const port = (stripe.server.address() as { port: number }).port
    d = await startDaemon({
      env: {
        KEYSAT_DEMO: '1',
        KEYSAT_STRIPE_API_URL: `http://127.0.0.1:${port}`,
      },
    })
    detach = (await attach(d)).detach
  })
  after(async () => {
    await detach?.()
    await d?.dispose()
    stripe.server.close()
  })

  test('Connect Stripe: the key is checked, the endpoint registered, the status shown', async () => {
    const bad = await failAction(connectStripe, {
      secretKey: 'sk_test_wrong123456',
    })
    assert.match(bad.message, /api_key_invalid/)
    const { result } = await runAction(connectStripe, {
      secretKey: ' sk_test_keysat123456 ',
    })
    assert.match(result?.title ?? '', /Stripe is connected \(test mode\)/)
    assert.equal(field(result, 'Connected').value, 'yes')
    assert.equal(field(result, 'Webhook endpoint id').value, 'we_1')
    assert.equal(stripe.endpoints[0].url, `${d.publicUrl}/v1/stripe/webhook`)
  })

  test('Refund a sale: a paid sale is refunded and its license revoked', async () => {
    assert.equal(
      (
        await d.admin('POST', '/products', {
          slug: 'app',
          name: 'App',
          price_sats: 1000,
        })
      ).status,
      201,
    )
    assert.equal(
      (
        await d.admin('POST', '/products/app/policies', {
          slug: 'default',
          name: 'Default',
        })
      ).status,
      201,
    )
    const p = await d.call('POST', '/v1/purchase', { product: 'app' })
    assert.equal(p.status, 200, JSON.stringify(p.body))
    const paid = await fetch(`${p.body.checkout_url}/pay`, {
      method: 'POST',
      redirect: 'manual',
    })
    assert.equal(paid.status, 303)
    const e = await failAction(refundSale, {
      invoiceId: p.body.invoice_id,
      reason: null,
      revoke: true,
    })
    assert.match(e.message, /reason/i)
    const { result } = await runAction(refundSale, {
      invoiceId: p.body.invoice_id,
      reason: 'asked by the buyer',
      revoke: true,
    })
    assert.equal(result?.title, 'Sale refunded')
    assert.equal(field(result, 'License status').value, 'revoked')
    assert.equal(field(result, 'Refunded').value, '1000 SATS')
    const again = await failAction(refundSale, {
      invoiceId: p.body.invoice_id,
      reason: 'again',
      revoke: true,
    })
    assert.equal(again.code, 'already_refunded')
  })
})
