import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { productChoice } from './common/choices'
import { codeMembers } from './common/codeView'
import {
  codePattern,
  groups,
  isoTime,
  metadata,
  opt,
  slugPattern,
} from './common/fields'

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
      units: i18n('sats'),
    }),
  })

/** The kinds of discount and their amounts (shared with "Edit discount code"). */
export function kindVariants() {
  return {
    percent_off: {
      name: i18n('Percent off'),
      spec: InputSpec.of({
        value: Value.number({
          name: i18n('Percent'),
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
      name: i18n('Fixed amount off'),
      spec: satsField(
        i18n('Amount off'),
        i18n('Never takes the price below zero.'),
      ),
    },
    set_price_sats: {
      name: i18n('Set the price'),
      spec: satsField(i18n('New price'), i18n('The price with this code.')),
    },
    free_license: { name: i18n('Free license'), spec: InputSpec.of({}) },
  }
}

/** The amount of a kind union's value, when the kind has one. */
export function amountOf(v: object): number | undefined {
  return 'value' in v ? (v.value as number) : undefined
}

const inputSpec = InputSpec.of({
  product: productChoice(
    i18n('Product'),
    i18n('The product the code applies to.'),
  ),
  code: Value.text({
    name: i18n('Code'),
    description: i18n(
      'What buyers type (case does not matter). Leave empty to generate a readable random code.',
    ),
    required: false,
    default: null,
    placeholder: 'LAUNCH20',
    patterns: [codePattern],
  }),
  kind: Value.union({
    name: i18n('Discount'),
    default: 'percent_off',
    variants: Variants.of(kindVariants()),
  }),
  policies: Value.list(
    List.text(
      {
        name: i18n('Tiers'),
        description: i18n(
          'Limit the code to these tier slugs; empty means every tier.',
        ),
      },
      { patterns: [slugPattern], placeholder: 'default' },
    ),
  ),
  maxUses: Value.number({
    name: i18n('Uses in total'),
    description: i18n('Empty for no limit.'),
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 1_000_000_000,
  }),
  maxUsesPerBuyer: Value.number({
    name: i18n('Uses per buyer'),
    description: i18n('Empty for no limit.'),
    required: false,
    default: null,
    integer: true,
    min: 1,
    max: 1_000_000_000,
  }),
  validUntil: Value.datetime({
    name: i18n('Valid until'),
    description: i18n('Empty for no end.'),
    required: false,
    default: null,
    inputmode: 'datetime-local',
  }),
  featured: Value.toggle({
    name: i18n('Featured'),
    description: i18n('Shown and applied on the buy page without being typed.'),
    default: false,
  }),
  referrer: Value.text({
    name: i18n('Referrer'),
    description: i18n('Who brought the buyer (for your statistics).'),
    required: false,
    default: null,
    maxLength: 120,
  }),
})

export const createDiscountCode = sdk.Action.withInput(
  'create-discount-code',
  metadata(
    i18n('Create discount code'),
    i18n('A discount, referral or free-license code for a product.'),
    groups.codes,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const c = await api.createDiscountCode({
      product_slug: input.product,
      code: opt(input.code),
      kind: input.kind.selection,
      value: amountOf(input.kind.value),
      policies: input.policies.map((p) => p.trim()),
      max_uses: input.maxUses ?? undefined,
      max_uses_per_buyer: input.maxUsesPerBuyer ?? undefined,
      valid_until: isoTime(input.validUntil),
      featured: input.featured,
      referrer: opt(input.referrer),
    })
    return done(
      i18n('Discount code ${code} created', { code: c.code }),
      i18n('Buyers enter it on the buy page.'),
      codeMembers(c),
    )
  }),
)
