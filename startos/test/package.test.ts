/**
 * The package around the actions: what StartOS loads (the ABI), init (admin
 * key, the Connect BTCPay task), the health check against a live daemon, and
 * the choice of the public URL.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import * as pkg from '../index'
import { preferredUrl } from '../addresses'
import { checkHealthz } from '../health'
import { ensureAdminKey, initializeService } from '../init/initializeService'
import { when } from '../results'
import { useStoreAt } from '../fileModels/store.json'
import { connectBtcpayTaskId, healthPath } from '../utils'
import { freePort, recordingEffects, startDaemon } from './harness'

test('the package exports what StartOS loads', async () => {
  // The very functions of their modules, not merely some function.
  assert.equal(pkg.main, (await import('../main')).main)
  assert.equal(pkg.createBackup, (await import('../backups')).createBackup)
  const initModule = await import('../init')
  assert.equal(pkg.init, initModule.init)
  assert.equal(pkg.uninit, initModule.uninit)
  // Every action file's action is registered under its own id.
  // One action a file; what several share is in actions/common/.
  const files = (await readdir(join(__dirname, '../actions'))).filter(
    (f) => f.endsWith('.ts') && f !== 'index.ts',
  )
  assert.ok(files.length > 50, `${files.length} action files`)
  for (const f of files) {
    const mod = (await import(`../actions/${f}`)) as Record<
      string,
      { id?: string }
    >
    const action = mod[f.replace(/\.ts$/, '')]
    assert.ok(action?.id, `${f} exports its action`)
    assert.equal(
      pkg.actions.get(action.id),
      action,
      `${f}: registered as ${action.id}`,
    )
  }
  assert.equal(pkg.manifest.id, 'keysat')
  assert.equal(pkg.manifest.version, '0.1.0:0')
  assert.ok(pkg.manifest.dependencies.btcpayserver)
})

test('init: one admin key, kept; the Connect BTCPay task on install and restore only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keysat-init-'))
  const storeFile = join(dir, 'startos-store.json')
  useStoreAt(storeFile)
  try {
    const install = recordingEffects()
    await initializeService.init(install.effects, 'install')
    const { adminApiKey } = JSON.parse(await readFile(storeFile, 'utf8'))
    assert.match(adminApiKey, /^ksa_[0-9a-f]{64}$/)
    assert.equal(install.tasksCreated.length, 1)
    const task = install.tasksCreated[0]
    assert.equal(task.actionId, 'connect-btcpay')
    assert.equal(
      task.severity,
      'important',
      'shown prominently, but Keysat starts without BTCPay',
    )
    assert.equal(task.replayId, connectBtcpayTaskId)
    assert.equal(task.packageId, 'keysat')

    for (const kind of [null, 'update'] as const) {
      const r = recordingEffects()
      await initializeService.init(r.effects, kind)
      assert.deepEqual(
        r.tasksCreated,
        [],
        `no task on ${kind ?? 'a plain start'}`,
      )
    }
    const restore = recordingEffects()
    await initializeService.init(restore.effects, 'restore')
    assert.equal(restore.tasksCreated.length, 1)
    await ensureAdminKey(restore.effects)
    assert.equal(
      JSON.parse(await readFile(storeFile, 'utf8')).adminApiKey,
      adminApiKey,
      'never replaced',
    )
  } finally {
    useStoreAt(null)
    await rm(dir, { recursive: true, force: true })
  }
})

test('health check: success against the daemon, failure when nothing answers', async () => {
  const d = await startDaemon()
  try {
    assert.deepEqual(await checkHealthz(`${d.publicUrl}${healthPath}`), {
      result: 'success',
      message: 'Keysat is answering buyers and applications',
    })
    const wrongPath = await checkHealthz(`${d.publicUrl}/nope`)
    assert.equal(wrongPath.result, 'failure')
    assert.match(wrongPath.message, /HTTP 404/)
  } finally {
    await d.dispose()
  }
  const closed = await checkHealthz(
    `http://127.0.0.1:${await freePort()}${healthPath}`,
    500,
  )
  assert.equal(closed.result, 'failure')
})

test('the public URL: a public domain first, https first, then public, then the .local name', () => {
  const lan = [
    'http://192.168.1.5:8080',
    'https://keysat.local',
    'http://keysat.local',
  ]
  assert.equal(
    preferredUrl({
      publicDomains: ['http://shop.example.com', 'https://shop.example.com/'],
      public: ['http://abc.onion'],
      lan,
    }),
    'https://shop.example.com',
  )
  assert.equal(
    preferredUrl({ publicDomains: [], public: ['http://abc.onion'], lan }),
    'http://abc.onion',
  )
  assert.equal(
    preferredUrl({ publicDomains: [], public: [], lan }),
    'https://keysat.local',
  )
  assert.equal(preferredUrl({ publicDomains: [], public: [], lan: [] }), null)
  assert.equal(preferredUrl(null), null)
})

test('times are shown in UTC whatever the daemon sends', () => {
  assert.equal(when(1_700_000_000), '2023-11-14T22:13:20Z')
  assert.equal(when('2023-11-14T22:13:20Z'), '2023-11-14T22:13:20Z')
  assert.equal(when(null), null)
})
