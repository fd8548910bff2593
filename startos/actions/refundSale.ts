import { Refund } from '../api'
import { done, Member, value, when } from '../results'
import { handler } from '../operator'
import { i18n } from '../i18n'
import { sdk } from '../sdk'
import { groups, metadata, reason, uuidPattern } from './common/fields'

const { InputSpec, Value } = sdk

function refundMembers(r: Refund): Member[] {
  return [
    value(i18n('Order number'), r.invoice_id),
    value(i18n('Paid through'), r.provider, { copyable: false }),
    value(
      i18n('Refunded'),
      r.amount && r.currency ? `${r.amount} ${r.currency}` : null,
      { copyable: false },
    ),
    value(i18n('Refund id at the provider'), r.provider_refund_id),
    value(i18n('Where the buyer claims it'), r.claim_url, {
      description: i18n(
        'A bitcoin refund is a BTCPay pull payment: the buyer opens this page and gives an address or a Lightning invoice. Keysat sent it to them if they left an npub.',
      ),
    }),
    value(i18n('License'), r.license_id),
    value(i18n('License status'), r.license_status, { copyable: false }),
    value(i18n('When'), when(r.refunded_at), { copyable: false }),
  ]
}

const inputSpec = InputSpec.of({
  invoiceId: Value.text({
    name: i18n('Order number'),
    description: i18n(
      'The invoice id of the sale (the buyer’s order number; "Search licenses" shows it as the license’s invoice).',
    ),
    required: true,
    default: null,
    placeholder: '3f2b8c1e-6a0d-4d4e-9a51-0c7d2e9b1f00',
    patterns: [uuidPattern],
  }),
  reason: reason(
    true,
    i18n('Why (kept in the audit log; the provider sees it too).'),
  ),
  revoke: Value.toggle({
    name: i18n('Revoke the license'),
    description: i18n(
      'The key stops working (the usual case). Turn off to refund as a gesture and let the buyer keep the key.',
    ),
    default: true,
  }),
})

export const refundSale = sdk.Action.withInput(
  'refund-sale',
  metadata(
    i18n('Refund a sale'),
    i18n(
      'Give the money back through the rail it came by (Stripe: a refund to the card; BTCPay: a pull payment the buyer claims) and revoke the license.',
    ),
    groups.licenses,
    i18n('A refund cannot be undone.'),
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const r = await api.refundInvoice(
      input.invoiceId.trim(),
      (input.reason ?? i18n('')).trim(),
      input.revoke,
    )
    return done(
      i18n('Sale refunded'),
      r.claim_url
        ? i18n('The buyer claims the bitcoin on the pull payment page below.')
        : null,
      refundMembers(r),
    )
  }),
)
