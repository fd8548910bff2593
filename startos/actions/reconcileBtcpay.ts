import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'

export const reconcileBtcpay = sdk.Action.withoutInput(
  'reconcile-btcpay',
  metadata(
    i18n('Check unpaid invoices now'),
    i18n(
      'Asks the payment provider about every invoice still waiting for payment, now rather than at the next scheduled pass: a payment whose notice was missed is settled and its license issued.',
    ),
    groups.btcpay,
  ),
  handler<{}>(async ({ api }) => {
    const r = await api.btcpayReconcile()
    const plain = { copyable: false }
    if (r.skipped) {
      return done(
        i18n('Nothing to check'),
        i18n('No payment provider is connected.'),
      )
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
