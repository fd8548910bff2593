import { DiscountCode } from '../api'
import { done, sats, table } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt, slugPattern } from './fields'

const { InputSpec, Value } = sdk

/** "20% off", "5,000 sats off", "price 1,000 sats", "free license". */
export function describeKind(c: Pick<DiscountCode, 'kind' | 'value'>): string {
  switch (c.kind) {
    case 'percent_off':
      return `${c.value}% off`
    case 'fixed_sats_off':
      return `${sats(c.value)} off`
    case 'set_price_sats':
      return `price ${sats(c.value)}`
    case 'free_license':
      return 'free license'
  }
}

const inputSpec = InputSpec.of({
  product: Value.text({
    name: 'Product',
    description: 'Only the codes of this product slug; empty for all.',
    required: false,
    default: null,
    patterns: [slugPattern],
  }),
})

export const listDiscountCodes = guarded(
  sdk.Action.withInput(
    'list-discount-codes',
    metadata(
      'List discount codes',
      'Every code with its use so far.',
      groups.codes,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const codes = await api.discountCodes(opt(input.product))
      return done(
        'Discount codes',
        codes.length
          ? `${codes.length} code${codes.length === 1 ? '' : 's'}.`
          : 'No discount codes yet.',
        table(codes, (c) => `${c.code} — ${c.active ? 'active' : 'disabled'}`, [
          ['Code', (c) => c.code, true],
          ['Product', (c) => c.product_slug],
          ['Discount', describeKind],
          ['Active', (c) => (c.active ? 'yes' : 'no')],
          ['Tiers', (c) => c.policies.join(', ') || 'every tier'],
          [
            'Uses',
            (c) =>
              `${c.stats.uses}${c.max_uses === null ? '' : ` of ${c.max_uses}`}`,
          ],
          ['Licenses issued', (c) => c.stats.licenses_issued],
          ['Sats attributed', (c) => sats(c.stats.sats_attributed)],
          ['Valid until', (c) => c.valid_until ?? 'no end'],
          ['Referrer', (c) => c.referrer],
        ]),
      )
    }),
  ),
)
