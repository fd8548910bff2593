import { DiscountCode } from '../../api'
import { i18n } from '../../i18n'
import { Column, sats, value, yesNo } from '../../results'

/** "20% off", "5,000 sats off", "price 1,000 sats", "free license". */
export function describeKind(c: Pick<DiscountCode, 'kind' | 'value'>): string {
  switch (c.kind) {
    case 'percent_off':
      return i18n('${n}% off', { n: c.value ?? 0 })
    case 'fixed_sats_off':
      return i18n('${amount} off', { amount: sats(c.value) })
    case 'set_price_sats':
      return i18n('price ${amount}', { amount: sats(c.value) })
    case 'free_license':
      return i18n('free license')
  }
}

export function uses(c: DiscountCode): string {
  return c.max_uses === null
    ? String(c.stats.uses)
    : i18n('${n} of ${max}', { n: c.stats.uses, max: c.max_uses })
}

/** A code as the result of an action that created or changed it. */
export function codeMembers(c: DiscountCode) {
  const plain = { copyable: false }
  return [
    value(i18n('Code'), c.code, { qr: true }),
    value(i18n('Product'), c.product_slug),
    value(i18n('Discount'), describeKind(c), plain),
    value(i18n('Tiers'), c.policies.join(', ') || i18n('every tier'), plain),
    value(i18n('Active'), yesNo(c.active), plain),
    value(i18n('Featured'), yesNo(c.featured), plain),
    value(i18n('Uses'), uses(c), plain),
    value(
      i18n('Uses per buyer'),
      c.max_uses_per_buyer ?? i18n('unlimited'),
      plain,
    ),
    value(i18n('Valid from'), c.valid_from ?? i18n('now'), plain),
    value(i18n('Valid until'), c.valid_until ?? i18n('no end'), plain),
    value(i18n('Referrer'), c.referrer, plain),
  ]
}

export const codeColumns: Column<DiscountCode>[] = [
  [i18n('Code'), (c) => c.code, true],
  [i18n('Product'), (c) => c.product_slug],
  [i18n('Discount'), describeKind],
  [i18n('Active'), (c) => yesNo(c.active)],
  [i18n('Featured'), (c) => yesNo(c.featured)],
  [i18n('Tiers'), (c) => c.policies.join(', ') || i18n('every tier')],
  [i18n('Uses'), uses],
  [i18n('Licenses issued'), (c) => c.stats.licenses_issued],
  [i18n('Sats attributed'), (c) => sats(c.stats.sats_attributed)],
  [i18n('Valid until'), (c) => c.valid_until ?? i18n('no end')],
  [i18n('Referrer'), (c) => c.referrer],
]
