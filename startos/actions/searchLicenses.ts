import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'
import { licenseTable } from './common/licenseTable'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  query: Value.text({
    name: i18n('Search for'),
    description: i18n(
      'A buyer e-mail or npub, a license id, part of a key, an invoice id or a note.',
    ),
    required: true,
    default: null,
    minLength: 1,
    maxLength: 1000,
  }),
  limit: Value.number({
    name: i18n('At most'),
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
    units: i18n('licenses'),
  }),
})

export const searchLicenses = sdk.Action.withInput(
  'search-licenses',
  metadata(
    i18n('Search licenses'),
    i18n('Find licenses by buyer, id, key or note.'),
    groups.licenses,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const found = await api.searchLicenses(input.query.trim(), input.limit)
    return done(
      i18n('Licenses found'),
      found.length === 0
        ? i18n('No license matches.')
        : found.length === 1
          ? i18n('1 license matches.')
          : i18n('${n} licenses match.', { n: found.length }),
      licenseTable(found),
    )
  }),
)
