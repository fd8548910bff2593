import { ApiScope } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'
import { apiKeyColumns, scopeLabels } from './common/apiKeyView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  name: Value.text({
    name: i18n('Name'),
    description: i18n('Who uses it, e.g. "website" or "support desk".'),
    required: true,
    default: null,
    maxLength: 100,
  }),
  scopes: Value.multiselect({
    name: i18n('Scopes'),
    description: i18n('What the key may do; give the least that works.'),
    default: ['read-only'],
    values: scopeLabels(),
    minLength: 1,
  }),
})

export const createApiKey = sdk.Action.withInput(
  'create-api-key',
  metadata(
    i18n('Create API key'),
    i18n(
      'A key for another system (your website, a support desk) with only the rights it needs; shown once.',
    ),
    groups.apiKeys,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const k = await api.createApiKey(
      input.name.trim(),
      input.scopes as ApiScope[],
    )
    return done(
      i18n('API key "${name}" created', { name: k.name }),
      i18n(
        'Copy the key now: it is shown only this once. It is a Bearer token for the admin API (Authorization: Bearer …).',
      ),
      [
        value(i18n('API key'), k.key, { masked: true }),
        ...apiKeyColumns.map(([label, cell, copyable]) =>
          value(label, cell(k), { copyable: copyable ?? false }),
        ),
      ],
    )
  }),
)
