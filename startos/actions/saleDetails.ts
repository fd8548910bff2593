import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { invoiceChoice } from './common/choices'
import { groups, metadata } from './common/fields'
import { saleMembers } from './common/saleView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({ invoice: invoiceChoice() })

export const saleDetails = sdk.Action.withInput(
  'sale-details',
  metadata(
    i18n('Sale details'),
    i18n(
      'One invoice in full: the amounts, the buyer, what the payment provider says about it now, the payment notices received and its license.',
    ),
    groups.sales,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const i = await api.invoice(input.invoice)
    return done(i18n('Sale ${id}', { id: i.invoice_id }), null, saleMembers(i))
  }),
)
