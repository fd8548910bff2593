import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, table } from '../results'
import { sdk } from '../sdk'
import { productChoice } from './common/choices'
import { groups, isoTime, metadata, opt } from './common/fields'
import { saleColumns, saleName } from './common/saleView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  state: Value.select({
    name: i18n('Status'),
    default: 'settled',
    values: {
      all: i18n('Any'),
      settled: i18n('Paid'),
      pending: i18n('Waiting for payment'),
      expired: i18n('Expired'),
      invalid: i18n('Invalid'),
    },
  }),
  product: productChoice(i18n('Product'), null, { all: i18n('Every product') }),
  buyer: Value.text({
    name: i18n('Buyer'),
    description: i18n('Only the sales of this e-mail or npub; empty for all.'),
    required: false,
    default: null,
    maxLength: 254,
  }),
  since: Value.datetime({
    name: i18n('Since'),
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
    units: i18n('sales'),
  }),
})

export const listSales = sdk.Action.withInput(
  'list-sales',
  metadata(
    i18n('List sales'),
    i18n(
      'Invoices, newest first: what sold, to whom, for how much, and the license it gave.',
    ),
    groups.sales,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const invoices = await api.invoices({
      state: input.state === 'all' ? undefined : input.state,
      product: input.product === 'all' ? undefined : input.product,
      buyer: opt(input.buyer),
      from: isoTime(input.since),
      limit: input.limit,
    })
    return done(
      i18n('Sales'),
      invoices.length === 0
        ? i18n('No sales.')
        : i18n('${n} invoices, newest first.', { n: invoices.length }),
      table(invoices, saleName, saleColumns),
    )
  }),
)
