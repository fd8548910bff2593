import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, table } from '../results'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'
import { apiKeyColumns } from './common/apiKeyView'

export const listApiKeys = sdk.Action.withoutInput(
  'list-api-keys',
  metadata(
    i18n('List API keys'),
    i18n(
      'Every API key: its scopes and when it was last used (never the key itself).',
    ),
    groups.apiKeys,
  ),
  handler<{}>(async ({ api }) => {
    const keys = await api.apiKeys()
    return done(
      i18n('API keys'),
      keys.length === 0
        ? i18n('No API keys (the admin key is not listed).')
        : i18n('${n} keys.', { n: keys.length }),
      table(
        keys,
        (k) =>
          k.revoked_at ? i18n('${name} (revoked)', { name: k.name }) : k.name,
        apiKeyColumns,
      ),
    )
  }),
)
