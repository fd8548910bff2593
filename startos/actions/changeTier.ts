import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, sats, value } from '../results'
import { sdk } from '../sdk'
import {
  licenseField,
  resolveLicense,
  tierChoice,
  tierOf,
} from './common/choices'
import { groups, metadata, opt, reason } from './common/fields'
import { licenseMembers } from './common/licenseView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  license: licenseField(),
  tier: tierChoice(i18n('New tier'), i18n('A tier of the same product.')),
  skipPayment: Value.toggle({
    name: i18n('Free of charge'),
    description: i18n(
      'On: the change applies at once, nothing to pay (a comp). Off: moving up gives a payment link to send to the buyer (with a credit for their unused time); moving down takes effect at the next renewal.',
    ),
    default: false,
  }),
  reason: reason(false, i18n('Why (kept in the audit log).')),
})

function amount(c: {
  amount_sats: number
  price_amount?: string | null
  price_currency?: string | null
}): string {
  return c.price_amount && c.price_currency
    ? `${c.price_amount} ${c.price_currency}`
    : sats(c.amount_sats)
}

export const changeTier = sdk.Action.withInput(
  'change-license-tier',
  metadata(
    i18n('Change license tier'),
    i18n(
      'Move a license to another tier of its product: its id, seats and machines stay; a new key carries the new terms and goes to the buyer.',
    ),
    groups.licenses,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { license_id } = await resolveLicense(api, input.license)
    const r = await api.changeTier(license_id, {
      to_policy_slug: tierOf(input.tier).tier,
      skip_payment: input.skipPayment,
      reason: opt(input.reason),
    })
    switch (r.status) {
      case 'applied':
        return done(i18n('Tier changed'), null, licenseMembers(r.license))
      case 'checkout':
        return done(
          i18n('Payment link for the buyer'),
          i18n(
            'Send this link to the buyer; the license moves to the new tier once it is paid.',
          ),
          [
            value(i18n('Payment link'), r.checkout.checkout_url, { qr: true }),
            value(i18n('Amount'), amount(r.checkout), { copyable: false }),
            value(i18n('Invoice id'), r.checkout.invoice_id),
          ],
        )
      case 'scheduled':
        return done(
          i18n('Change scheduled'),
          i18n(
            'The license moves to tier "${tier}" at its next renewal, on ${at}.',
            {
              tier: r.scheduled.to_policy_slug,
              at: r.scheduled.effective_at,
            },
          ),
        )
    }
  }),
)
