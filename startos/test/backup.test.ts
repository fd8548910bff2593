/**
 * A backup round trip as StartOS runs it: the pre-backup snapshot (the same
 * command, the real binary) while the daemon runs, an rsync with the
 * package's excludes, then restore into a fresh volume and the post-restore
 * step; the restored daemon validates a key issued before the backup.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import {
  cp,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import {
  backupExcludes,
  promoteSnapshot,
  removeSnapshot,
  snapshotCommand,
} from '../snapshotFiles'
import { snapshotSubpath } from '../utils'
import { keysatBinary, startDaemon } from './harness'

const run = promisify(execFile)

/** What rsync with `exclude` copies: every file but the anchored patterns. */
async function rsyncLike(from: string, to: string) {
  await cp(from, to, {
    recursive: true,
    filter: (src) => !backupExcludes.includes(`/${relative(from, src)}`),
  })
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, {
    withFileTypes: true,
    recursive: true,
  })) {
    if (e.isFile())
      out.push(
        relative(
          dir,
          join(e.parentPath ?? (e as { path: string }).path, e.name),
        ),
      )
  }
  return out.sort()
}

test('snapshot, rsync with the excludes, restore: keys issued before still validate', async () => {
  const d = await startDaemon()
  const volume = d.dataDir
  const backup = await mkdtemp(join(tmpdir(), 'keysat-backup-'))
  const restored = await mkdtemp(join(tmpdir(), 'keysat-restored-'))
  try {
    await writeFile(
      join(volume, 'startos-store.json'),
      JSON.stringify({ adminApiKey: d.adminKey }),
    )
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
          name: 'D',
        })
      ).status,
      201,
    )
    const issued = (
      await d.admin('POST', '/licenses', {
        product_slug: 'app',
        buyer_email: 'ada@example.com',
      })
    ).body
    const pem = (await d.call('GET', '/v1/pubkey')).body.public_key_pem

    // Pre-backup, with the daemon running: the package's own command line.
    const [, ...args] = snapshotCommand(volume)
    const { stdout } = await run(keysatBinary(), args)
    assert.match(stdout, /snapshot written/)
    // A write after the snapshot is not in the backup.
    const later = (await d.admin('POST', '/licenses', { product_slug: 'app' }))
      .body

    // Keysat's own daily backups stay on the volume, out of StartOS's.
    assert.equal((await d.admin('POST', '/backups', {})).status, 201)

    await rsyncLike(volume, backup)
    const carried = await files(backup)
    assert.ok(
      !carried.some((f) => f.startsWith('backups/') || f === 'keysat.lock'),
      carried.join(', '),
    )
    assert.ok(carried.includes(snapshotSubpath), carried.join(', '))
    assert.ok(carried.includes('startos-store.json'))
    for (const live of ['keysat.db', 'keysat.db-wal', 'keysat.db-shm']) {
      assert.ok(!carried.includes(live), `${live} is not copied live`)
    }
    await removeSnapshot(volume)
    await assert.rejects(
      stat(join(volume, snapshotSubpath)),
      'the post-backup step drops the copy',
    )
    await d.stop()

    // Restore: the backup lands in a fresh volume, then the post-restore step.
    await cp(backup, restored, { recursive: true })
    await writeFile(
      join(restored, 'keysat.db-wal'),
      'stale WAL that must not survive',
    )
    await promoteSnapshot(restored)
    assert.deepEqual(await files(restored), ['keysat.db', 'startos-store.json'])

    const store = JSON.parse(
      await readFile(join(restored, 'startos-store.json'), 'utf8'),
    )
    const back = await startDaemon({
      dataDir: restored,
      adminKey: store.adminApiKey,
    })
    try {
      assert.equal(
        (await back.call('GET', '/v1/pubkey')).body.public_key_pem,
        pem,
      )
      const v = await back.call('POST', '/v1/validate', {
        key: issued.license_key,
        product_slug: 'app',
      })
      assert.equal(v.body.ok, true, JSON.stringify(v.body))
      const gone = await back.call('POST', '/v1/validate', {
        key: later.license_key,
        product_slug: 'app',
      })
      assert.equal(gone.body.reason, 'not_found')
      const found = await back.admin(
        'GET',
        '/licenses/search?q=ada%40example.com',
      )
      assert.equal(found.body.licenses.length, 1)
    } finally {
      await back.stop()
    }
  } finally {
    await d.dispose()
    await rm(backup, { recursive: true, force: true })
    await rm(restored, { recursive: true, force: true })
  }
})

test('a backup without a snapshot is refused on restore, with the reason', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'keysat-restored-'))
  try {
    await assert.rejects(promoteSnapshot(empty), {
      message:
        'The backup holds no database snapshot (backup/keysat-snapshot.db), so it cannot be restored.',
    })
  } finally {
    await rm(empty, { recursive: true, force: true })
  }
})
