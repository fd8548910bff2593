import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { customerChoice } from './common/choices'
import { groups, metadata } from './common/fields'
import { customerColumns, customerName } from './listCustomers'
import { licenseTable } from './common/licenseTable'
import { group } from '../results'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({ customer: customerChoice() })

export const customerDetails = sdk.Action.withInput(
  'customer-details',
  metadata(
    i18n('Customer details'),
    i18n('One customer: what they paid and every license they hold.'),
    groups.sales,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const c = await api.customer(input.customer)
    return done(customerName(c), null, [
      ...customerColumns.map(([label, cell, copyable]) =>
        value(label, cell(c), { copyable: copyable ?? false }),
      ),
      group(i18n('Licenses'), licenseTable(c.licenses)),
    ])
  }),
)
