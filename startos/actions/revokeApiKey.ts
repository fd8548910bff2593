import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { apiKeyChoice } from './common/choices'
import { groups, metadata } from './common/fields'
import { apiKeyColumns } from './common/apiKeyView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({ key: apiKeyChoice() })

export const revokeApiKey = sdk.Action.withInput(
  'revoke-api-key',
  metadata(
    i18n('Revoke API key'),
    i18n('The key stops working at once.'),
    groups.apiKeys,
    i18n('Whatever uses this key loses access.'),
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const k = await api.revokeApiKey(input.key)
    return done(
      i18n('API key "${name}" revoked', { name: k.name }),
      null,
      apiKeyColumns.map(([label, cell, copyable]) =>
        value(label, cell(k), { copyable: copyable ?? false }),
      ),
    )
  }),
)
