import { LicenseStatus } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { productChoice } from './common/choices'
import { groups, isoTime, metadata } from './common/fields'
import { licenseTable } from './common/licenseTable'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  product: productChoice(i18n('Product'), null, { all: i18n('Every product') }),
  status: Value.select({
    name: i18n('Status'),
    default: 'all',
    values: {
      all: i18n('Any'),
      active: i18n('Active'),
      suspended: i18n('Suspended'),
      revoked: i18n('Revoked'),
    },
  }),
  since: Value.datetime({
    name: i18n('Issued since'),
    required: false,
    default: null,
    inputmode: 'datetime-local',
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

export const listLicenses = sdk.Action.withInput(
  'list-licenses',
  metadata(
    i18n('List licenses'),
    i18n('The latest licenses, newest first, by product and status.'),
    groups.licenses,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const found = await api.licenses({
      product: input.product === 'all' ? undefined : input.product,
      status:
        input.status === 'all' ? undefined : (input.status as LicenseStatus),
      created_from: isoTime(input.since),
      limit: input.limit,
    })
    return done(
      i18n('Licenses'),
      found.length === 0
        ? i18n('No licenses.')
        : i18n('${n} licenses, newest first.', { n: found.length }),
      licenseTable(found),
    )
  }),
)
