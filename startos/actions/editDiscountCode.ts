import { DiscountCodePatch } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { codeChoice } from './common/choices'
import { codeMembers } from './common/codeView'
import { amountOf, kindVariants } from './createDiscountCode'
import {
  groups,
  isoTime,
  keepYesNo,
  metadata,
  opt,
  slugPattern,
  switched,
} from './common/fields'

const { InputSpec, Value, List, Variants } = sdk

const keep = ` ${i18n('Leave empty to keep it.')}`

const inputSpec = InputSpec.of({
  code: codeChoice(),
  kind: Value.union({
    name: i18n('Discount'),
    default: 'keep',
    variants: Variants.of({
      keep: { name: i18n('Keep as it is'), spec: InputSpec.of({}) },
      ...kindVariants(),
    }),
  }),
  policies: Value.list(
    List.text(
      {
        name: i18n('Tiers'),
        description: i18n(
          'Replaces the tiers the code is limited to when you list any; an empty list keeps them.',
        ),
      },
      { patterns: [slugPattern], placeholder: 'default' },
    ),
  ),
  everyTier: Value.toggle({
    name: i18n('Every tier'),
    description: i18n(
      'Lift the limit to some tiers: the code applies to every tier.',
    ),
    default: false,
  }),
  maxUses: Value.number({
    name: i18n('Uses in total'),
    description: i18n('0 removes the limit.') + keep,
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 1_000_000_000,
  }),
  validUntil: Value.datetime({
    name: i18n('Valid until'),
    description: i18n('Leave empty to keep it.'),
    required: false,
    default: null,
    inputmode: 'datetime-local',
  }),
  noEnd: Value.toggle({
    name: i18n('No end date'),
    description: i18n('Remove the end date.'),
    default: false,
  }),
  featured: keepYesNo(
    i18n('Featured'),
    i18n('Shown and applied on the buy page without being typed.'),
  ),
  referrer: Value.text({
    name: i18n('Referrer'),
    description: i18n('Who brought the buyer (for your statistics).') + keep,
    required: false,
    default: null,
    maxLength: 120,
  }),
})

type Input = typeof inputSpec._TYPE

function patch(input: Input): DiscountCodePatch {
  const kind =
    input.kind.selection === 'keep'
      ? {}
      : {
          kind: input.kind.selection,
          value: amountOf(input.kind.value) ?? null,
        }
  return {
    ...kind,
    policies: input.everyTier
      ? []
      : input.policies.length
        ? input.policies.map((p) => p.trim())
        : undefined,
    max_uses:
      input.maxUses === null
        ? undefined
        : input.maxUses === 0
          ? null
          : input.maxUses,
    valid_until: input.noEnd ? null : isoTime(input.validUntil),
    featured: switched(input.featured),
    referrer: opt(input.referrer),
  }
}

export const editDiscountCode = sdk.Action.withInput(
  'edit-discount-code',
  metadata(
    i18n('Edit discount code'),
    i18n(
      "Change a code's discount, tiers, limits, end date, featured switch or referrer. Empty fields keep their value.",
    ),
    groups.codes,
  ),
  inputSpec,
  async () => null,
  handler<Input>(async ({ input, api }) => {
    const c = await api.patchDiscountCode(input.code, patch(input))
    return done(
      i18n('Discount code ${code} saved', { code: c.code }),
      null,
      codeMembers(c),
    )
  }),
)
