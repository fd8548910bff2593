import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { backupMembers, size } from './common/backupView'
import { groups, metadata } from './common/fields'

export const backUpNow = sdk.Action.withoutInput(
  'back-up-now',
  metadata(
    i18n('Back up now'),
    i18n(
      'Takes a database backup now, checks it, and prunes old ones by the retention rule.',
    ),
    groups.data,
  ),
  handler<{}>(async ({ api }) => {
    const f = await api.backUpNow()
    const b = await api.backups()
    return done(i18n('Backup taken'), null, [
      value(i18n('File'), f.name),
      value(i18n('Size'), size(f.bytes), { copyable: false }),
      value(i18n('Path'), f.path),
      ...backupMembers(b),
    ])
  }),
)
