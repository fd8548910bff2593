import { done, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import {
  codePattern,
  groups,
  metadata,
  opt,
  productChoice,
  slugPattern,
} from './fields'
import { describeKind } from './listDiscountCodes'

const { InputSpec, Value, List, Variants } = sdk

const satsField = (name: string, description: string) =>
  InputSpec.of({
    value: Value.number({
      name,
      description,
      required: true,
      default: 1000,
      integer: true,
      min: 1,
      max: 2_100_000_000_000_000,
      units: 'sats',
    }),
  })

const inputSpec = InputSpec.of({
  product: productChoice('Product', 'The product the code applies to.'),
  code: Value.text({
    name: 'Code',
    description:
      'What buyers type (case does not matter). Leave empty to generate a readable random code.',
    required: false,
    default: null,
    placeholder: 'LAUNCH20',
    patterns: [codePattern],
  }),
  kind: Value.union({
    name: 'Discount',
    default: 'percent_off',
    variants: Variants.of({
      percent_off: {
        name: 'Percent off',
        spec: InputSpec.of({
          value: Value.number({
            name: 'Percent',
            required: true,
            default: 20,
            integer: true,
            min: 1,
            max: 100,
            units: '%',
          }),
        }),
      },
      fixed_sats_off: {
        name: 'Fixed amount off',
        spec: satsField('Amount off', 'Never takes the price below zero.'),
      },
      set_price_sats: {
        name: 'Set the price',
        spec: satsField('New price', 'The price with this code.'),
      },
      free_license: { name: 'Free license', spec: InputSpec.of({}) },
    }),
  }),
  policies: Value.list(
    List.text(
      {
        name: 'Tiers',
        description:
          'Limit the code to these tier slugs; empty means every tier.',
      },
      { patterns: [slugPattern], placeholder: 'default' },
    ),
  ),
  maxUses: Value.number({
    name: 'Uses in total',
    description: 'Empty for no limit.',
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 1_000_000_000,
  }),
  maxUsesPerBuyer: Value.number({
    name: 'Uses per buyer',
    description: 'Empty for no limit.',
    required: false,
    default: null,
    integer: true,
    min: 1,
    max: 1_000_000_000,
  }),
  validUntil: Value.datetime({
    name: 'Valid until',
    description: 'Empty for no end.',
    required: false,
    default: null,
    inputmode: 'datetime-local',
  }),
  referrer: Value.text({
    name: 'Referrer',
    description: 'Who brought the buyer (for your statistics).',
    required: false,
    default: null,
    maxLength: 120,
  }),
})

export const createDiscountCode = guarded(
  sdk.Action.withInput(
    'create-discount-code',
    metadata(
      'Create discount code',
      'A discount, referral or free-license code for a product.',
      groups.codes,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const kind = input.kind.selection
      const amount =
        'value' in input.kind.value
          ? (input.kind.value.value as number)
          : undefined
      const c = await api.createDiscountCode({
        product_slug: input.product,
        code: opt(input.code),
        kind,
        value: amount,
        policies: input.policies.map((p) => p.trim()),
        max_uses: input.maxUses ?? undefined,
        max_uses_per_buyer: input.maxUsesPerBuyer ?? undefined,
        valid_until: input.validUntil
          ? new Date(input.validUntil).toISOString()
          : undefined,
        referrer: opt(input.referrer),
      })
      return done(
        `Discount code ${c.code} created`,
        'Buyers enter it on the buy page.',
        [
          value('Code', c.code, { qr: true }),
          value('Product', c.product_slug),
          value('Discount', describeKind(c), { copyable: false }),
          value('Tiers', c.policies.join(', ') || 'every tier', {
            copyable: false,
          }),
          value('Uses in total', c.max_uses ?? 'unlimited', {
            copyable: false,
          }),
          value('Valid until', c.valid_until ?? 'no end', { copyable: false }),
        ],
      )
    }),
  ),
)
