/**
 * The BTCPay actions against a live daemon whose KEYSAT_BTCPAY_URL points at
 * a stand-in BTCPay: connect (authorize link → approval → connected), the
 * task cleared once connected, choosing among several stores, connecting by
 * hand, disconnecting, and connecting while Keysat is stopped.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, test } from 'node:test'
import { useListeners } from '../api'
import { checkBtcpay } from '../actions/checkBtcpay'
import { chooseBtcpayStore } from '../actions/chooseBtcpayStore'
import { connectBtcpay } from '../actions/connectBtcpay'
import { disconnectBtcpay } from '../actions/disconnectBtcpay'
import { connectBtcpayTaskId } from '../utils'
import { FakeBtcpay, keysatPermissions } from './fakeBtcpay'
import {
  attach,
  Daemon,
  failAction,
  field,
  keysatBridgeUrl,
  runAction,
  startDaemon,
} from './harness'

const authorize = (btcpayUrl: string) => ({
  method: { selection: 'authorize', value: { btcpayUrl } },
})
const manual = (apiKey: string, storeId: string) => ({
  method: {
    selection: 'manual',
    value: { btcpayUrl: 'http://btcpay.local', apiKey, storeId },
  },
})

describe('BTCPay actions', () => {
  let fake: FakeBtcpay
  let d: Daemon
  let storePath = ''
  let detach: () => Promise<void>

  before(async () => {
    fake = await new FakeBtcpay().start()
    fake.stores.push(
      { id: 'S1', name: 'Main store' },
      { id: 'S2', name: 'Side store' },
    )
    d = await startDaemon({ btcpayUrl: fake.url })
    const a = await attach(d)
    storePath = a.storePath
    detach = a.detach
  })
  after(async () => {
    await detach?.()
    await d?.dispose()
    await fake?.stop()
  })

  test('Check BTCPay connection before connecting: not connected, the task stays', async () => {
    const { result, rec } = await runAction(checkBtcpay)
    assert.equal(result?.title, 'BTCPay is not connected')
    assert.equal(field(result, 'Connected').value, 'no')
    assert.deepEqual(rec.tasksCleared, [])
  })

  test('Connect BTCPay: the form refuses an address that is not a URL', async () => {
    const e = await failAction(connectBtcpay, authorize('btcpay.local'))
    assert.equal(e.code, 'invalid_input')
    assert.match(
      e.message,
      /^How › BTCPay address: an address such as https:\/\/btcpay\.example\.com/,
    )
  })

  test('Connect BTCPay: the authorize link, approval in BTCPay, then Check clears the task', async () => {
    const { result } = await runAction(
      connectBtcpay,
      authorize('http://btcpay.local/'),
    )
    assert.equal(result?.title, 'Open this link to authorize Keysat')
    const link = field(result, 'Authorize link')
    assert.equal(link.qr, true)
    assert.equal(link.copyable, true)
    const url = new URL(link.value)
    assert.equal(
      `${url.origin}${url.pathname}`,
      'http://btcpay.local/api-keys/authorize',
    )
    // Selling's four, and creating pull payments (refunds).
    assert.deepEqual(url.searchParams.getAll('permissions'), keysatPermissions)
    assert.match(
      field(result, 'Link expires').value,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    )
    const saved = JSON.parse(await readFile(storePath, 'utf8'))
    assert.equal(
      saved.btcpayBrowserUrl,
      'http://btcpay.local',
      'remembered for next time',
    )
    assert.equal(
      saved.btcpayChosen,
      true,
      'BTCPay chosen: the btcpayserver package is now required',
    )
    const again = await runAction(
      connectBtcpay,
      authorize('http://btcpay.local'),
    )
    assert.deepEqual(
      again.form.value,
      authorize('http://btcpay.local'),
      'prefilled',
    )

    const page = await fake.approve(link.value, ['S1'])
    assert.equal(page.status, 200, page.text)
    assert.match(page.text, /Main store/)

    const { result: check, rec } = await runAction(checkBtcpay)
    assert.equal(check?.title, 'BTCPay is connected')
    assert.equal(field(check, 'Store id').value, 'S1')
    assert.deepEqual(rec.tasksCleared, [[connectBtcpayTaskId]])
    const hooks = [...fake.webhooks.values()]
    assert.equal(hooks.length, 1)
    assert.equal(
      hooks[0].url,
      `${keysatBridgeUrl}/v1/btcpay/webhook`,
      "at the address BTCPay's container reaches Keysat at, not the public URL",
    )
    assert.equal(field(check, 'Webhook id').value, hooks[0].id)
  })

  test('Disconnect BTCPay: the webhook is removed from the store', async () => {
    const { result } = await runAction(disconnectBtcpay)
    assert.equal(result?.title, 'BTCPay disconnected')
    assert.equal(field(result, 'Connected').value, 'no')
    assert.equal(fake.webhooks.size, 0)
    assert.equal(
      JSON.parse(await readFile(storePath, 'utf8')).btcpayChosen,
      false,
      'no longer required',
    )
  })

  test('Several stores: Check asks to choose, Choose BTCPay store connects', async () => {
    const { result } = await runAction(
      connectBtcpay,
      authorize('http://btcpay.local'),
    )
    const page = await fake.approve(field(result, 'Authorize link').value, [
      'S1',
      'S2',
    ])
    assert.equal(page.status, 200, page.text)

    const check = await runAction(checkBtcpay)
    assert.equal(check.result?.title, 'Choose your BTCPay store')
    const {
      result: chosen,
      form,
      rec,
    } = await runAction(chooseBtcpayStore, { storeId: 'S2' })
    const storeSpec = form.spec.storeId as { values: Record<string, string> }
    assert.deepEqual(storeSpec.values, {
      S1: 'Main store (S1)',
      S2: 'Side store (S2)',
    })
    assert.equal(chosen?.title, 'BTCPay connected')
    assert.equal(field(chosen, 'Store id').value, 'S2')
    assert.deepEqual(rec.tasksCleared, [[connectBtcpayTaskId]])
    assert.equal([...fake.webhooks.values()][0].storeId, 'S2')

    const nothing = await failAction(chooseBtcpayStore, { storeId: '' })
    assert.match(
      nothing.message,
      /^store '' is not one this API key may sell on/,
      'nothing to choose once connected',
    )
    await runAction(disconnectBtcpay)
  })

  test("Connect by hand: BTCPay's refusal reaches the operator as a message; a right key connects", async () => {
    const wrong = await failAction(
      connectBtcpay,
      manual('not-a-real-key-000', 'S1'),
    )
    assert.equal(wrong.code, 'provider_error', wrong.message)
    assert.match(
      wrong.message,
      /^GET \/api\/v1\/api-keys\/current: the payment provider answered HTTP 401/,
    )
    assert.equal(wrong.stack, wrong.message)

    const key = fake.grant(['S1'])
    // A store that does not exist, and one that exists but the key was not
    // granted: BTCPay's statuses (the spec's 404 and 403), whatever its words.
    const unknownStore = await failAction(connectBtcpay, manual(key, 'S9'))
    assert.equal(unknownStore.code, 'provider_error')
    assert.match(
      unknownStore.message,
      /^GET \/api\/v1\/stores\/\{storeId\}: the payment provider answered HTTP 404\b/,
    )
    const notGranted = await failAction(connectBtcpay, manual(key, 'S2'))
    assert.equal(notGranted.code, 'provider_error')
    assert.match(
      notGranted.message,
      /^GET \/api\/v1\/stores\/\{storeId\}: the payment provider answered HTTP 403\b/,
    )

    const { result, rec } = await runAction(connectBtcpay, manual(key, 'S1'))
    assert.equal(result?.title, 'BTCPay connected')
    assert.equal(field(result, 'Store').value, 'Main store (S1)')
    assert.deepEqual(rec.tasksCleared, [[connectBtcpayTaskId]])
    await runAction(disconnectBtcpay)
  })

  test('Connect BTCPay while Keysat is stopped: the address is kept, and Check hands out the link', async () => {
    await d.stop()
    const { result } = await runAction(
      connectBtcpay,
      authorize('https://btcpay.example.com'),
    )
    assert.equal(result?.title, 'BTCPay address saved')

    const restarted = await startDaemon({
      dataDir: d.dataDir,
      adminKey: d.adminKey,
      btcpayUrl: fake.url,
    })
    d = restarted
    useListeners({ adminUrl: d.adminUrl, publicUrl: d.publicUrl })
    const check = await runAction(checkBtcpay)
    assert.equal(
      check.result?.title,
      'BTCPay is not connected yet: open this link',
    )
    const link = field(check.result, 'Authorize link').value
    assert.ok(
      link.startsWith('https://btcpay.example.com/api-keys/authorize?'),
      link,
    )
    assert.equal((await fake.approve(link, ['S1'])).status, 200)
    assert.equal(
      (await runAction(checkBtcpay)).result?.title,
      'BTCPay is connected',
    )
  })

  test("the stand-in's answers match the Greenfield spec's response schemas", async () => {
    // The shared validator of licensing-service/tests/js (Ajv; `make js-deps`).
    const root = join(__dirname, '../..')
    const dir = await mkdtemp(join(tmpdir(), 'keysat-fake-answers-'))
    const file = join(dir, 'answers.jsonl')
    assert.ok(
      fake.answers.some((a) => a.status === 403),
      'a refusal was answered',
    )
    assert.ok(
      fake.answers.some((a) => a.status === 200),
      'a success was answered',
    )
    await writeFile(file, fake.answers.map((a) => JSON.stringify(a)).join('\n'))
    const { stdout } = await promisify(execFile)('node', [
      join(root, 'licensing-service/tests/js/validate-responses.mjs'),
      join(root, 'docs/btcpay/greenfield.openapi.json'),
      file,
    ]).catch((e: { stdout: string; stderr: string }) => {
      assert.fail(`the stand-in breaks the spec:\n${e.stdout}${e.stderr}`)
    })
    const n = fake.answers.length
    assert.match(stdout, new RegExp(`^${n}/${n} valid$`, 'm'))
  })
})
