/**
 * Keysat is usable before BTCPay: btcpayserver is required only once the
 * operator has chosen BTCPay (and no longer after "Disconnect BTCPay"), and
 * the "Demo mode" switch turns the simulated provider on and off through
 * the package store and the daemon's environment.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { useListeners } from '../api'
import { checkBtcpay } from '../actions/checkBtcpay'
import { demoMode } from '../actions/demoMode'
import { btcpayRequirement, setDependencies } from '../dependencies'
import { daemonEnv } from '../env'
import { btcpay } from '../neighbours'
import { store } from '../fileModels/store.json'
import {
  attach,
  Daemon,
  field,
  recordingEffects,
  runAction,
  startDaemon,
} from './harness'
import { keysatHost } from './hosts'

describe('before BTCPay', () => {
  let d: Daemon
  let storePath = ''
  let detach: () => Promise<void>

  before(async () => {
    d = await startDaemon()
    const a = await attach(d)
    storePath = a.storePath
    detach = a.detach
  })
  after(async () => {
    await detach?.()
    await d?.dispose()
  })

  const declared = async () => {
    const rec = recordingEffects()
    await setDependencies(rec.effects)
    assert.equal(rec.dependencies.length, 1)
    return rec.dependencies[0]
  }

  test('btcpayserver is not required until BTCPay is chosen, then required running with its API up', async () => {
    assert.deepEqual(await declared(), [], 'a new install requires nothing')
    await store().merge(recordingEffects().effects, { btcpayChosen: true })
    assert.deepEqual(await declared(), [
      {
        id: btcpay.packageId,
        kind: 'running',
        versionRange: btcpayRequirement.versionRange,
        healthChecks: [btcpay.healthCheck],
      },
    ])
    await store().merge(recordingEffects().effects, { btcpayChosen: false })
    assert.deepEqual(await declared(), [], 'not after Disconnect BTCPay')
  })

  test('Demo mode: off by default; switched on, the daemon restarts with KEYSAT_DEMO=true and the simulated provider; off again, none', async () => {
    const hosts = { 'keysat/main': keysatHost }
    const first = await runAction(demoMode, { enabled: true })
    assert.deepEqual(first.form.value, { enabled: false }, 'prefilled: off')
    assert.equal(first.result?.title, 'Demo mode is on: payments are simulated')
    assert.equal(JSON.parse(await readFile(storePath, 'utf8')).demoMode, true)
    const env = await daemonEnv(recordingEffects(hosts).effects)
    assert.equal(env.KEYSAT_DEMO, 'true')

    // What main.ts then starts: the same environment, on free ports here.
    await d.stop()
    d = await startDaemon({
      dataDir: d.dataDir,
      adminKey: d.adminKey,
      env: { KEYSAT_DEMO: env.KEYSAT_DEMO },
    })
    useListeners({ adminUrl: d.adminUrl, publicUrl: d.publicUrl })
    const status = await d.admin('GET', '/btcpay/status')
    assert.equal(status.body.demo, true)
    assert.equal(status.body.provider, 'simulated')
    const check = await runAction(checkBtcpay)
    assert.equal(check.result?.title, 'Demo mode is on: payments are simulated')
    assert.deepEqual(
      check.rec.tasksCleared,
      [],
      'the simulated provider does not complete the Connect BTCPay task',
    )
    assert.equal(
      field(check.result, 'Connected').value,
      'yes',
      'to the simulated provider',
    )

    const off = await runAction(demoMode, { enabled: false })
    assert.deepEqual(off.form.value, { enabled: true }, 'prefilled: on')
    assert.equal(off.result?.title, 'Demo mode is off')
    const envOff = await daemonEnv(recordingEffects(hosts).effects)
    assert.equal(envOff.KEYSAT_DEMO, undefined)
    await d.stop()
    d = await startDaemon({ dataDir: d.dataDir, adminKey: d.adminKey })
    useListeners({ adminUrl: d.adminUrl, publicUrl: d.publicUrl })
    const plain = (await d.admin('GET', '/btcpay/status')).body
    assert.equal(plain.demo, undefined)
    assert.equal(plain.provider, null, 'no provider until BTCPay is connected')
    assert.equal(plain.connected, false)
  })

  test('Demo mode is clearly marked: its name, its warning, runnable while stopped', async () => {
    const rec = recordingEffects()
    const { actions } = await import('../actions')
    await actions.init(rec.effects)
    const m = rec.exported.find((a) => a.id === 'demo-mode')?.metadata
    assert.ok(m)
    assert.match(m.name, /simulated payments/)
    assert.match(m.warning ?? '', /SIMULATED/)
    assert.match(m.warning ?? '', /without paying/)
    assert.equal(m.allowedStatuses, 'any')
  })
})
