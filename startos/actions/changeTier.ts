import { done, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, licenseId, metadata, opt, reason, slugPattern } from './fields'
import { licenseMembers } from './licenseView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  licenseId: licenseId('From "Search licenses".'),
  toPolicySlug: Value.text({
    name: 'New tier (policy slug)',
    description: 'A tier of the same product.',
    required: true,
    default: null,
    patterns: [slugPattern],
  }),
  skipPayment: Value.toggle({
    name: 'Free of charge',
    description:
      'On: the change applies at once, nothing to pay (a comp). Off: moving up gives a payment link to send to the buyer (with a credit for their unused time); moving down takes effect at the next renewal.',
    default: false,
  }),
  reason: reason(false, 'Why (kept in the audit log).'),
})

export const changeTier = guarded(
  sdk.Action.withInput(
    'change-license-tier',
    metadata(
      'Change license tier',
      'Move a license to another tier of its product: its id, seats and machines stay; a new key carries the new terms and goes to the buyer.',
      groups.licenses,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const r = await api.changeTier(input.licenseId.trim(), {
        to_policy_slug: input.toPolicySlug.trim(),
        skip_payment: input.skipPayment,
        reason: opt(input.reason),
      })
      switch (r.status) {
        case 'applied':
          return done('Tier changed', null, licenseMembers(r.license))
        case 'checkout':
          return done(
            'Payment link for the buyer',
            'Send this link to the buyer; the license moves to the new tier once it is paid.',
            [
              value('Payment link', r.checkout.checkout_url, { qr: true }),
              value('Amount', amount(r.checkout), { copyable: false }),
              value('Invoice id', r.checkout.invoice_id),
            ],
          )
        case 'scheduled':
          return done(
            'Change scheduled',
            `The license moves to tier "${r.scheduled.to_policy_slug}" at its next renewal, on ${r.scheduled.effective_at}.`,
          )
      }
    }),
  ),
)

function amount(c: {
  amount_sats: number
  price_amount?: string | null
  price_currency?: string | null
}): string {
  return c.price_amount && c.price_currency
    ? `${c.price_amount} ${c.price_currency}`
    : `${c.amount_sats} sats`
}
