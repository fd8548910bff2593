import { BackupStatus } from '../../api'
import { i18n } from '../../i18n'
import { Member, group, table, value, when, yesNo } from '../../results'

/** "1.2 MB". */
export function size(bytes: number): string {
  if (bytes < 1024) return i18n('${n} bytes', { n: bytes })
  if (bytes < 1024 * 1024)
    return i18n('${n} KiB', { n: Math.round(bytes / 1024) })
  return i18n('${n} MiB', { n: Math.round((bytes / 1024 / 1024) * 10) / 10 })
}

/** How Keysat's own backups stand. */
export function backupMembers(b: BackupStatus): Member[] {
  const plain = { copyable: false }
  return [
    value(i18n('Daily backup'), yesNo(b.scheduled), plain),
    value(
      i18n('Taken at'),
      b.hour_utc === null ? null : i18n('${h}:00 UTC', { h: b.hour_utc }),
      plain,
    ),
    value(i18n('Kept'), b.keep, plain),
    value(i18n('Folder'), b.directory, plain),
    value(
      i18n('Last backup'),
      b.last
        ? `${when(b.last.at)} — ${b.last.name} (${size(b.last.bytes)})`
        : i18n('none yet'),
      plain,
    ),
    value(
      i18n('Failing'),
      b.failing ? `${when(b.failing.at)}: ${b.failing.message}` : i18n('no'),
      plain,
    ),
    value(i18n('Next backup'), when(b.next_at), plain),
    group(
      i18n('Backup files'),
      table(b.files, (f) => f.name, [
        [i18n('Size'), (f) => size(f.bytes)],
        [i18n('Path'), (f) => f.path, true],
      ]),
    ),
  ]
}
