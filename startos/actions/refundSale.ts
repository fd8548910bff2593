import { Refund } from '../api'
import { done, Member, value, when } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, reason, uuidPattern } from './fields'

const { InputSpec, Value } = sdk

function refundMembers(r: Refund): Member[] {
  return [
    value('Order number', r.invoice_id),
    value('Paid through', r.provider, { copyable: false }),
    value(
      'Refunded',
      r.amount && r.currency ? `${r.amount} ${r.currency}` : null,
      { copyable: false },
    ),
    value('Refund id at the provider', r.provider_refund_id),
    value('Where the buyer claims it', r.claim_url, {
      description:
        'A bitcoin refund is a BTCPay pull payment: the buyer opens this page and gives an address or a Lightning invoice. Keysat sent it to them if they left an npub.',
    }),
    value('License', r.license_id),
    value('License status', r.license_status, { copyable: false }),
    value('When', when(r.refunded_at), { copyable: false }),
  ]
}

const inputSpec = InputSpec.of({
  invoiceId: Value.text({
    name: 'Order number',
    description:
      'The invoice id of the sale (the buyer’s order number; "Search licenses" shows it as the license’s invoice).',
    required: true,
    default: null,
    placeholder: '3f2b8c1e-6a0d-4d4e-9a51-0c7d2e9b1f00',
    patterns: [uuidPattern],
  }),
  reason: reason(
    true,
    'Why (kept in the audit log; the provider sees it too).',
  ),
  revoke: Value.toggle({
    name: 'Revoke the license',
    description:
      'The key stops working (the usual case). Turn off to refund as a gesture and let the buyer keep the key.',
    default: true,
  }),
})

export const refundSale = guarded(
  sdk.Action.withInput(
    'refund-sale',
    metadata(
      'Refund a sale',
      'Give the money back through the rail it came by (Stripe: a refund to the card; BTCPay: a pull payment the buyer claims) and revoke the license.',
      groups.licenses,
      'A refund cannot be undone.',
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const r = await api.refundInvoice(
        input.invoiceId.trim(),
        (input.reason ?? '').trim(),
        input.revoke,
      )
      return done(
        'Sale refunded',
        r.claim_url
          ? 'The buyer claims the bitcoin on the pull payment page below.'
          : null,
        refundMembers(r),
      )
    }),
  ),
)
