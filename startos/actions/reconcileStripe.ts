import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'

export const reconcileStripe = sdk.Action.withoutInput(
  'reconcile-stripe',
  metadata(
    i18n('Check unpaid card payments now'),
    i18n(
      'Asks Stripe about every card checkout still waiting for payment, now rather than at the next scheduled pass: a payment whose notice was missed is settled and its license issued.',
    ),
    groups.stripe,
  ),
  handler<{}>(async ({ api }) => {
    const r = await api.stripeReconcile()
    const plain = { copyable: false }
    if (r.skipped) {
      return done(i18n('Nothing to check'), i18n('Stripe is not connected.'))
    }
    return done(
      r.error
        ? i18n('The check did not finish')
        : i18n('Unpaid invoices checked'),
      r.error,
      [
        value(i18n('Checked'), r.checked, plain),
        value(i18n('Found paid'), r.settled, plain),
        value(i18n('Closed (expired or invalid)'), r.closed, plain),
      ],
    )
  }),
)
