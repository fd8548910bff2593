import { i18n } from './i18n'
/**
 * The database files a backup carries and how restore puts them back. A
 * backup copies volume `main` without the live database (keysat.db and its
 * WAL, which rsync could catch mid-write) but with the consistent copy that
 * `keysat snapshot` wrote just before; restore makes that copy keysat.db.
 */
import { access, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { keysatBin, liveDatabaseFiles, snapshotSubpath } from './utils'

/**
 * rsync patterns, anchored at the volume root: the live database, a
 * half-written snapshot, the running daemon's lock, and Keysat's own daily
 * backups (`backups/`, kept on the volume for `keysat restore`; StartOS's
 * backup already carries the consistent snapshot).
 */
export const backupExcludes = [
  ...liveDatabaseFiles.map((f) => `/${f}`),
  `/${snapshotSubpath}.partial`,
  '/keysat.lock',
  '/backups',
]

/** The pre-backup command, run in the daemon's image with the volume at `dataDir`. */
export function snapshotCommand(dataDir: string): [string, ...string[]] {
  return [
    keysatBin,
    'snapshot',
    '--data-dir',
    dataDir,
    `${dataDir}/${snapshotSubpath}`,
  ]
}

/** After a backup: the copy has been sent, drop it from the volume. */
export async function removeSnapshot(volumeRoot: string) {
  await rm(join(volumeRoot, snapshotSubpath), { force: true })
  await rm(join(volumeRoot, `${snapshotSubpath}.partial`), { force: true })
}

/** After a restore: the snapshot becomes the database; no stale WAL may survive. */
export async function promoteSnapshot(volumeRoot: string) {
  const snapshot = join(volumeRoot, snapshotSubpath)
  try {
    await access(snapshot)
  } catch {
    throw new Error(
      i18n(
        'The backup holds no database snapshot (${snapshotSubpath}), so it cannot be restored.',
        { snapshotSubpath },
      ),
    )
  }
  for (const f of liveDatabaseFiles)
    await rm(join(volumeRoot, f), { force: true })
  await rename(snapshot, join(volumeRoot, liveDatabaseFiles[0]))
}
