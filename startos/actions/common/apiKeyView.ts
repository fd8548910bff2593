import { ApiKey } from '../../api'
import { i18n } from '../../i18n'
import { Column } from '../../results'

/** What each scope allows, as the daemon enforces it (domain/access.rs). */
export function scopeLabels(): Record<string, string> {
  return {
    'read-only': i18n('read-only: look at everything, change nothing'),
    support: i18n('support: read, search, suspend, free seats, resend keys'),
    issuer: i18n(
      'issuer: create licenses and discount codes (a website after its checkout)',
    ),
    full: i18n('full: everything, like the admin key'),
  }
}

export const apiKeyColumns: Column<ApiKey>[] = [
  [i18n('Key id'), (k) => k.id, true],
  [i18n('Starts with'), (k) => `${k.prefix}…`],
  [i18n('Scopes'), (k) => k.scopes.join(', ')],
  [i18n('Created'), (k) => k.created_at],
  [i18n('Last used'), (k) => k.last_used_at ?? i18n('never')],
  [i18n('Revoked'), (k) => k.revoked_at],
]
