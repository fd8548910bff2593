import { Subscription } from '../../api'
import { i18n } from '../../i18n'
import { Column } from '../../results'

/** One subscription as a row. */
export const subscriptionColumns: Column<Subscription>[] = [
  [i18n('Subscription id'), (s) => s.subscription_id, true],
  [i18n('License id'), (s) => s.license_id, true],
  [i18n('State'), (s) => s.state],
  [i18n('Product'), (s) => s.product_slug],
  [i18n('Tier'), (s) => s.policy_slug],
  [i18n('Moves to at renewal'), (s) => s.next_policy_slug],
  [i18n('Paid until'), (s) => s.current_period_end],
  [i18n('Reminder at'), (s) => s.renewal_notice_at],
  [i18n('Grace until'), (s) => s.grace_until],
  [i18n('Renewals'), (s) => s.renewals],
  [i18n('Canceled'), (s) => s.canceled_at],
  [i18n('Canceled by'), (s) => s.canceled_by],
  [i18n('Why'), (s) => s.cancel_reason],
  [i18n('Renew link (for the buyer)'), (s) => s.renew_url, true],
]

export function subscriptionName(s: Subscription): string {
  return `${s.product_slug ?? '?'} · ${s.policy_slug ?? '?'} — ${s.state}`
}
