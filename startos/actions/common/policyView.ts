import type { Policy } from '../../api'
import { i18n } from '../../i18n'
import { Column, days, sats, seats, value, yesNo } from '../../results'
import { machineRuleValues } from './machineRules'

/** A tier's price: sats, and the fiat price when it has one. */
export function price(p: Policy): string {
  return p.price_amount
    ? `${p.price_amount} ${p.price_currency} (${sats(p.price_sats)})`
    : sats(p.price_sats)
}

/** Every setting of a tier, as the result of an action that changed it. */
export function policyMembers(p: Policy) {
  const plain = { copyable: false }
  return [
    value(i18n('Product'), p.product_slug),
    value(i18n('Slug'), p.slug),
    value(i18n('Name'), p.name, plain),
    value(i18n('Price'), price(p), plain),
    value(i18n('Duration'), days(p.duration_seconds), plain),
    value(i18n('Grace period'), days(p.grace_seconds), plain),
    value(i18n('Machines'), seats(p.max_machines), plain),
    value(
      i18n('Entitlements'),
      p.entitlements.join(', ') || i18n('none'),
      plain,
    ),
    value(i18n('Trial'), yesNo(p.is_trial), plain),
    value(i18n('Offered on the buy page'), yesNo(p.public), plain),
    value(i18n('Highlighted'), yesNo(p.highlighted), plain),
    value(i18n('Rank'), p.tier_rank, plain),
    value(i18n('Archived'), yesNo(p.archived), plain),
    value(
      i18n('Renews'),
      p.is_recurring
        ? i18n('every ${n} days', { n: p.renewal_period_days ?? 0 })
        : i18n('no (one-off)'),
      plain,
    ),
    value(
      i18n('Renewal reminder'),
      p.is_recurring
        ? i18n('${n} days before the end', {
            n: Math.round(p.renewal_notice_seconds / 86_400),
          })
        : null,
      plain,
    ),
    ...machineRuleValues(p),
  ]
}

/** Tiers as table rows. */
export const policyColumns: Column<Policy>[] = [
  [i18n('Slug'), (p) => p.slug, true],
  [i18n('Price'), price],
  [i18n('Duration'), (p) => days(p.duration_seconds)],
  [i18n('Machines'), (p) => seats(p.max_machines)],
  [i18n('Entitlements'), (p) => p.entitlements.join(', ') || i18n('none')],
  [i18n('Trial'), (p) => yesNo(p.is_trial)],
  [i18n('Offered on the buy page'), (p) => yesNo(p.public)],
  [i18n('Highlighted'), (p) => yesNo(p.highlighted)],
  [i18n('Archived'), (p) => yesNo(p.archived)],
  [
    i18n('Renews'),
    (p) =>
      p.is_recurring
        ? i18n('every ${n} days', { n: p.renewal_period_days ?? 0 })
        : i18n('no (one-off)'),
  ],
  [i18n('Offline lease'), (p) => days(p.lease_seconds)],
  [
    i18n('Floating seat timeout'),
    (p) =>
      p.seat_timeout_seconds === 0
        ? i18n('never')
        : i18n('${n} minutes', { n: p.seat_timeout_seconds / 60 }),
  ],
]
