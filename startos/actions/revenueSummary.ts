import { RevenueGrouping, RevenueLine } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, fiat, group, sats, table, value } from '../results'
import { sdk } from '../sdk'
import { groups, isoTime, metadata } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  groupBy: Value.select({
    name: i18n('Per'),
    default: 'month',
    values: {
      none: i18n('Totals only'),
      day: i18n('Day'),
      week: i18n('Week'),
      month: i18n('Month'),
      product: i18n('Product'),
      tier: i18n('Tier'),
      code: i18n('Discount code'),
      provider: i18n('Payment provider'),
    },
  }),
  from: Value.datetime({
    name: i18n('From'),
    description: i18n('Empty: since the first sale.'),
    required: false,
    default: null,
    inputmode: 'datetime-local',
  }),
  to: Value.datetime({
    name: i18n('Until'),
    description: i18n('Empty: until now.'),
    required: false,
    default: null,
    inputmode: 'datetime-local',
  }),
})

function line(l: RevenueLine) {
  const plain = { copyable: false }
  return [
    value(i18n('Sales'), l.sales, plain),
    value(i18n('Bitcoin'), sats(l.sats), plain),
    value(i18n('Fiat'), fiat(l.fiat) || i18n('none'), plain),
    value(i18n('Refunded'), sats(l.refunded_sats), plain),
  ]
}

export const revenueSummary = sdk.Action.withInput(
  'revenue-summary',
  metadata(
    i18n('Revenue summary'),
    i18n(
      'What sold and for how much: totals, and per day, week, month, product, tier, code or provider.',
    ),
    groups.sales,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const r = await api.revenue({
      from: isoTime(input.from),
      to: isoTime(input.to),
      group_by:
        input.groupBy === 'none'
          ? undefined
          : (input.groupBy as RevenueGrouping),
    })
    return done(
      i18n('Revenue'),
      i18n('From ${from} until ${to}.', { from: r.from, to: r.to }),
      [
        group(i18n('Totals'), line(r.totals)),
        ...table(r.groups, (g) => g.key ?? i18n('(none)'), [
          [i18n('Sales'), (g) => g.sales],
          [i18n('Bitcoin'), (g) => sats(g.sats)],
          [i18n('Fiat'), (g) => fiat(g.fiat) || i18n('none')],
          [i18n('Refunded'), (g) => sats(g.refunded_sats)],
        ]),
      ],
    )
  }),
)
