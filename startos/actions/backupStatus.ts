import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { backupMembers } from './common/backupView'
import { groups, metadata } from './common/fields'

export const backupStatus = sdk.Action.withoutInput(
  'backup-status',
  metadata(
    i18n('Backup status'),
    i18n(
      "Keysat's own daily database backups (kept inside the service, besides StartOS's backups): the last one, the next one, and the files kept.",
    ),
    groups.data,
  ),
  handler<{}>(async ({ api }) => {
    const b = await api.backups()
    return done(
      b.failing ? i18n('The last backup failed') : i18n('Backups'),
      null,
      backupMembers(b),
    )
  }),
)
