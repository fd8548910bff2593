import { sdk } from './sdk'
import {
  backupExcludes,
  promoteSnapshot,
  removeSnapshot,
  snapshotCommand,
} from './snapshotFiles'
import { dataDir } from './utils'

const mounts = sdk.Mounts.of().mountVolume({
  volumeId: 'main',
  subpath: null,
  mountpoint: dataDir,
  readonly: false,
})

/**
 * Volume `main`, with the database taken from a consistent snapshot
 * (`keysat snapshot`, VACUUM INTO) instead of the live files.
 */
export const { createBackup, restoreInit } = sdk.setupBackups(async () =>
  sdk.Backups.withOptions({ exclude: backupExcludes })
    .addVolume('main')
    .setPreBackup(async (effects) => {
      await sdk.SubContainer.withTemp(
        effects,
        { imageId: 'main' },
        mounts,
        'keysat-snapshot',
        (sub) => sub.execFail(snapshotCommand(dataDir)),
      )
    })
    .setPostBackup(async () => removeSnapshot(sdk.volumes.main.path))
    .setPostRestore(async () => promoteSnapshot(sdk.volumes.main.path)),
)
