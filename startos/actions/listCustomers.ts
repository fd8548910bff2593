import { Customer } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { Column, done, fiat, sats, table } from '../results'
import { sdk } from '../sdk'
import { groups, metadata, opt } from './common/fields'

const { InputSpec, Value } = sdk

export const customerColumns: Column<Customer>[] = [
  [i18n('Customer id'), (c) => c.customer_id, true],
  [i18n('E-mail'), (c) => c.emails.join(', '), true],
  [i18n('Npub'), (c) => c.npubs.join(', '), true],
  [i18n('Sales'), (c) => c.sales],
  [i18n('Paid in bitcoin'), (c) => sats(c.total_paid_sats)],
  [i18n('Paid in fiat'), (c) => fiat(c.total_paid_fiat) || null],
  [i18n('Licenses'), (c) => c.license_ids.length],
  [i18n('First purchase'), (c) => c.first_purchase_at],
  [i18n('Last purchase'), (c) => c.last_purchase_at],
]

export function customerName(c: Customer): string {
  return [...c.emails, ...c.npubs].join(', ') || c.customer_id
}

const inputSpec = InputSpec.of({
  query: Value.text({
    name: i18n('Search for'),
    description: i18n('Part of an e-mail or npub; empty for everyone.'),
    required: false,
    default: null,
    maxLength: 254,
  }),
  limit: Value.number({
    name: i18n('At most'),
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
    units: i18n('customers'),
  }),
})

export const listCustomers = sdk.Action.withInput(
  'list-customers',
  metadata(
    i18n('List customers'),
    i18n(
      'Who bought: their e-mail addresses and npubs, what they paid and their licenses.',
    ),
    groups.sales,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const found = await api.customers(opt(input.query), input.limit)
    return done(
      i18n('Customers'),
      found.length === 0
        ? i18n('No customers.')
        : i18n('${n} customers.', { n: found.length }),
      table(found, customerName, customerColumns),
    )
  }),
)
