import { PolicyPatch } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { tierChoice, tierOf } from './common/choices'
import { fiatFields } from './createPolicy'
import {
  groups,
  keepYesNo,
  metadata,
  opt,
  slugPattern,
  switched,
} from './common/fields'
import { machineRuleFields, machineRules } from './common/machineRules'
import { policyMembers } from './common/policyView'

const { InputSpec, Value, List } = sdk

const keep = ` ${i18n('Leave empty to keep it.')}`

const inputSpec = InputSpec.of({
  tier: tierChoice(i18n('Tier'), i18n('The tier to change.')),
  name: Value.text({
    name: i18n('Name'),
    description: i18n('What buyers see.') + keep,
    required: false,
    default: null,
    maxLength: 120,
  }),
  description: Value.textarea({
    name: i18n('Description'),
    description: i18n('Leave empty to keep it.'),
    required: false,
    default: null,
    maxLength: 4000,
  }),
  priceSats: Value.number({
    name: i18n('Price'),
    description: i18n('In sats.') + keep,
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 2_100_000_000_000_000,
    units: i18n('sats'),
  }),
  ...fiatFields(keep),
  clearFiat: Value.toggle({
    name: i18n('Remove the fiat price'),
    description: i18n('Sell this tier at its price in sats again.'),
    default: false,
  }),
  durationDays: Value.number({
    name: i18n('Duration'),
    description:
      i18n('0 for perpetual. Applies to licenses issued from now on.') + keep,
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 36_600,
    units: i18n('days'),
  }),
  graceDays: Value.number({
    name: i18n('Grace period'),
    description: i18n('Days a license keeps working after it expires.') + keep,
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 36_600,
    units: i18n('days'),
  }),
  maxMachines: Value.number({
    name: i18n('Machines'),
    description:
      i18n(
        'How many machines may use one license at once; 0 for unlimited. Applies to licenses issued from now on.',
      ) + keep,
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 100_000,
  }),
  entitlements: Value.list(
    List.text(
      {
        name: i18n('Entitlements'),
        description: i18n(
          "Replaces the tier's entitlements when you list any (slugs from the product's catalogue); an empty list keeps them.",
        ),
      },
      { patterns: [slugPattern], placeholder: 'pro' },
    ),
  ),
  isTrial: keepYesNo(i18n('Trial')),
  isRecurring: keepYesNo(
    i18n('Renews'),
    i18n(
      'A subscription: the license lasts one period (the duration) and the buyer renews it in bitcoin before it ends.',
    ),
  ),
  renewalNoticeDays: Value.number({
    name: i18n('Renewal reminder'),
    description:
      i18n('Days before the period ends that the buyer is reminded.') + keep,
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 36_600,
    units: i18n('days'),
  }),
  public: keepYesNo(i18n('Offered on the buy page')),
  highlighted: keepYesNo(
    i18n('Highlighted'),
    i18n('Shown as the recommended tier on the buy page.'),
  ),
  tierRank: Value.number({
    name: i18n('Rank'),
    description:
      i18n('Orders tiers on the buy page (higher is better).') + keep,
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 1000,
  }),
  ...machineRuleFields(false),
  oneTrialPerMachine: keepYesNo(
    i18n('One trial per machine'),
    i18n(
      'A machine that already had a trial of this product cannot start another one, whatever the e-mail.',
    ),
  ),
})

type Input = typeof inputSpec._TYPE

/** The fiat part of the patch: set, cleared, or absent (kept). */
function fiat(
  input: Input,
): Pick<PolicyPatch, 'price_amount' | 'price_currency'> {
  if (input.clearFiat) return { price_amount: null, price_currency: null }
  return {
    price_amount: opt(input.priceAmount),
    price_currency: opt(input.priceCurrency)?.toUpperCase(),
  }
}

function patch(input: Input): PolicyPatch {
  const days = (d: number | null) => (d === null ? undefined : d * 86_400)
  return {
    name: opt(input.name),
    description: opt(input.description),
    price_sats: input.priceSats ?? undefined,
    ...fiat(input),
    duration_seconds: days(input.durationDays),
    grace_seconds: days(input.graceDays),
    max_machines: input.maxMachines ?? undefined,
    entitlements: input.entitlements.length
      ? input.entitlements.map((e) => e.trim())
      : undefined,
    is_trial: switched(input.isTrial),
    is_recurring: switched(input.isRecurring),
    renewal_notice_seconds: days(input.renewalNoticeDays),
    public: switched(input.public),
    highlighted: switched(input.highlighted),
    tier_rank: input.tierRank ?? undefined,
    ...machineRules(input),
    one_trial_per_machine: switched(input.oneTrialPerMachine),
  }
}

export const editPolicy = sdk.Action.withInput(
  'edit-policy',
  metadata(
    i18n('Edit policy'),
    i18n(
      'Change a tier: name, prices (sats or fiat), duration, machines, entitlements, trial, renewal, buy-page placement and machine rules. Empty fields keep their value; shows every setting of the tier.',
    ),
    groups.catalog,
  ),
  inputSpec,
  async () => null,
  handler<Input>(async ({ input, api }) => {
    const { product, tier } = tierOf(input.tier)
    const p = await api.patchPolicy(product, tier, patch(input))
    return done(
      i18n('Tier "${name}" saved', { name: p.name }),
      null,
      policyMembers(p),
    )
  }),
)
