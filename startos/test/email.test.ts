/**
 * The e-mail actions against a live daemon and a real SMTP conversation:
 * "E-mail (SMTP) settings" (on, prefilled without the password, off),
 * "Send a test e-mail" and "Resend license key" by e-mail.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { emailSettings } from '../actions/emailSettings'
import { resendKey } from '../actions/resendKey'
import { sendTestEmail } from '../actions/sendTestEmail'
import {
  attach,
  Daemon,
  failAction,
  field,
  runAction,
  startDaemon,
} from './harness'
import { SmtpSink } from './smtpSink'

/** The settings form with e-mail switched off. */
const OFF = {
  enabled: false,
  host: null,
  port: 587,
  security: 'starttls',
  username: null,
  password: null,
  from: null,
}

describe('e-mail actions against a live daemon', () => {
  let d: Daemon
  let detach: () => Promise<void>
  let sink: SmtpSink

  before(async () => {
    d = await startDaemon()
    detach = (await attach(d)).detach
    sink = await SmtpSink.start()
  })
  after(async () => {
    await detach?.()
    await d?.dispose()
    await sink?.close()
  })

  test('E-mail (SMTP) settings: on, never showing the password, and off', async () => {
    const off = await runAction(emailSettings, OFF)
    assert.deepEqual(off.form.value, { enabled: false }, 'off by default')
    const missing = await failAction(emailSettings, {
      enabled: true,
      host: null,
      port: 587,
      security: 'starttls',
      username: null,
      password: null,
      from: 'shop@example.com',
    })
    assert.equal(missing.message, 'SMTP server: required')
    const { result } = await runAction(emailSettings, {
      enabled: true,
      host: '127.0.0.1',
      port: sink.port,
      security: 'none',
      username: 'shop',
      password: 'pa55-word',
      from: 'shop@example.com',
    })
    assert.equal(result?.title, 'E-mail is on')
    assert.equal(field(result, 'SMTP server').value, `127.0.0.1:${sink.port}`)
    assert.equal(field(result, 'Password stored').value, 'yes')
    const settings = await d.admin('GET', '/settings')
    assert.doesNotMatch(JSON.stringify(settings.body), /pa55-word/)
    const again = await runAction(emailSettings, {
      enabled: true,
      host: '127.0.0.1',
      port: sink.port,
      security: 'none',
      username: 'shop',
      password: null,
      from: 'shop@example.com',
    })
    assert.deepEqual(again.form.value, {
      enabled: true,
      host: '127.0.0.1',
      port: sink.port,
      security: 'none',
      username: 'shop',
      from: 'shop@example.com',
    })
    assert.equal(field(again.result, 'Password stored').value, 'yes')
  })

  test('Send a test e-mail: through the server, with its answer', async () => {
    const { result } = await runAction(sendTestEmail, {
      to: 'ops@example.com',
    })
    assert.equal(result?.title, 'Test e-mail sent')
    assert.match(field(result, 'Server answer').value, /^250 2\.0\.0 Ok/)
    const [mail] = await sink.waitFor('ops@example.com', 1)
    assert.equal(mail.auth, 'shop\0pa55-word')
  })

  test('Resend license key by e-mail', async () => {
    const product = await d.admin('POST', '/products', {
      slug: 'mailapp',
      name: 'Mail App',
      price_sats: 1000,
    })
    assert.equal(product.status, 201, JSON.stringify(product.body))
    const tier = await d.admin('POST', '/products/mailapp/policies', {
      slug: 'default',
      name: 'Default',
    })
    assert.equal(tier.status, 201, JSON.stringify(tier.body))
    const issued = await d.admin('POST', '/licenses', {
      product_slug: 'mailapp',
      buyer_email: 'buyer@example.com',
    })
    assert.equal(issued.status, 201, JSON.stringify(issued.body))
    const { result } = await runAction(resendKey, {
      license: issued.body.license_id,
      channel: 'email',
    })
    assert.equal(field(result, 'Sent by').value, 'email')
    assert.equal(field(result, 'To').value, 'buyer@example.com')
    const mails = await sink.waitFor('buyer@example.com', 2)
    assert.ok(mails.every((m) => m.data.includes('.lic')))
  })

  test('Off: nothing more is sent, and the test says so plainly', async () => {
    const { result } = await runAction(emailSettings, OFF)
    assert.equal(result?.title, 'E-mail is off')
    assert.equal((await d.admin('GET', '/settings')).body.smtp, null)
    const e = await failAction(sendTestEmail, { to: 'ops@example.com' })
    assert.match(e.message, /e-mail is off/i)
  })
})
