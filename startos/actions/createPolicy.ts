import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { productChoice } from './common/choices'
import {
  amountPattern,
  currencyPattern,
  groups,
  metadata,
  opt,
  slugPattern,
} from './common/fields'
import { machineRuleFields, machineRules } from './common/machineRules'
import { policyMembers } from './common/policyView'

const { InputSpec, Value, List } = sdk

/** A fiat price: amount and currency, both or neither. */
export function fiatFields(keep: string) {
  return {
    priceAmount: Value.text({
      name: i18n('Fiat price'),
      description:
        i18n(
          'Charge this amount in a fiat currency instead (BTCPay converts it to bitcoin at checkout); with a currency.',
        ) + keep,
      required: false,
      default: null,
      placeholder: '19.99',
      patterns: [amountPattern],
    }),
    priceCurrency: Value.text({
      name: i18n('Fiat currency'),
      description:
        i18n('The currency of the fiat price, e.g. USD or EUR.') + keep,
      required: false,
      default: null,
      placeholder: 'USD',
      patterns: [currencyPattern],
    }),
  }
}

const inputSpec = InputSpec.of({
  product: productChoice(
    i18n('Product'),
    i18n('The product this tier belongs to.'),
  ),
  slug: Value.text({
    name: i18n('Slug'),
    description: i18n(
      'Permanent short name of the tier. "default" is the tier used when none is named.',
    ),
    required: true,
    default: 'default',
    patterns: [slugPattern],
  }),
  name: Value.text({
    name: i18n('Name'),
    description: i18n('What buyers see, e.g. "One year, 2 machines".'),
    required: true,
    default: null,
    maxLength: 120,
  }),
  description: Value.textarea({
    name: i18n('Description'),
    required: false,
    default: null,
    maxLength: 4000,
  }),
  priceSats: Value.number({
    name: i18n('Price'),
    description: i18n("Leave empty to use the product's price."),
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 2_100_000_000_000_000,
    units: i18n('sats'),
  }),
  ...fiatFields(''),
  durationDays: Value.number({
    name: i18n('Duration'),
    description: i18n('0 for a perpetual license.'),
    required: true,
    default: 365,
    integer: true,
    min: 0,
    max: 36_600,
    units: i18n('days'),
  }),
  graceDays: Value.number({
    name: i18n('Grace period'),
    description: i18n('Days a license keeps working after it expires.'),
    required: true,
    default: 7,
    integer: true,
    min: 0,
    max: 36_600,
    units: i18n('days'),
  }),
  maxMachines: Value.number({
    name: i18n('Machines'),
    description: i18n(
      'How many machines may use one license at once; 0 for unlimited.',
    ),
    required: true,
    default: 1,
    integer: true,
    min: 0,
    max: 100_000,
  }),
  entitlements: Value.list(
    List.text(
      {
        name: i18n('Entitlements'),
        description: i18n("Slugs from the product's entitlement catalogue."),
      },
      { patterns: [slugPattern], placeholder: 'pro' },
    ),
  ),
  isTrial: Value.toggle({
    name: i18n('Trial'),
    description: i18n('A free, time-limited tier (needs a duration).'),
    default: false,
  }),
  isRecurring: Value.toggle({
    name: i18n('Renews'),
    description: i18n(
      'A subscription: the license lasts one period (the duration) and the buyer renews it in bitcoin before it ends.',
    ),
    default: false,
  }),
  renewalNoticeDays: Value.number({
    name: i18n('Renewal reminder'),
    description: i18n(
      'For a tier that renews: how many days before the period ends the buyer is reminded (less than the period). Empty: the default.',
    ),
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 36_600,
    units: i18n('days'),
  }),
  public: Value.toggle({
    name: i18n('Offered on the buy page'),
    default: true,
  }),
  highlighted: Value.toggle({
    name: i18n('Highlighted'),
    description: i18n('Shown as the recommended tier on the buy page.'),
    default: false,
  }),
  tierRank: Value.number({
    name: i18n('Rank'),
    description: i18n(
      'Orders tiers on the buy page and tells upgrades from downgrades (higher is better); empty for none.',
    ),
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 1000,
  }),
  ...machineRuleFields(true),
  oneTrialPerMachine: Value.toggle({
    name: i18n('One trial per machine'),
    description: i18n(
      'A machine that already had a trial of this product cannot start another one, whatever the e-mail.',
    ),
    default: false,
  }),
})

export const createPolicy = sdk.Action.withInput(
  'create-policy',
  metadata(
    i18n('Create policy'),
    i18n('A tier of a product: price, duration, machines and entitlements.'),
    groups.catalog,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const p = await api.createPolicy(input.product, {
      slug: input.slug.trim(),
      name: input.name.trim(),
      description: opt(input.description),
      price_sats: input.priceSats ?? undefined,
      price_amount: opt(input.priceAmount),
      price_currency: opt(input.priceCurrency)?.toUpperCase(),
      duration_seconds: input.durationDays * 86_400,
      grace_seconds: input.graceDays * 86_400,
      max_machines: input.maxMachines,
      entitlements: input.entitlements.map((e) => e.trim()),
      is_trial: input.isTrial,
      is_recurring: input.isRecurring,
      renewal_notice_seconds:
        input.renewalNoticeDays === null
          ? undefined
          : input.renewalNoticeDays * 86_400,
      public: input.public,
      highlighted: input.highlighted,
      tier_rank: input.tierRank ?? undefined,
      ...machineRules(input),
      one_trial_per_machine: input.oneTrialPerMachine,
    })
    return done(
      i18n('Tier "${name}" created', { name: p.name }),
      null,
      policyMembers(p),
    )
  }),
)
