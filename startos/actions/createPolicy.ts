import { days, done, sats, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt, productChoice, slugPattern } from './fields'
import {
  machineRuleFields,
  machineRules,
  machineRuleValues,
} from './machineRules'

const { InputSpec, Value, List } = sdk

const inputSpec = InputSpec.of({
  product: productChoice('Product', 'The product this tier belongs to.'),
  slug: Value.text({
    name: 'Slug',
    description:
      'Permanent short name of the tier. "default" is the tier used when none is named.',
    required: true,
    default: 'default',
    patterns: [slugPattern],
  }),
  name: Value.text({
    name: 'Name',
    description: 'What buyers see, e.g. "One year, 2 machines".',
    required: true,
    default: null,
    maxLength: 120,
  }),
  description: Value.textarea({
    name: 'Description',
    required: false,
    default: null,
    maxLength: 4000,
  }),
  priceSats: Value.number({
    name: 'Price',
    description: "Leave empty to use the product's price.",
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 2_100_000_000_000_000,
    units: 'sats',
  }),
  durationDays: Value.number({
    name: 'Duration',
    description: '0 for a perpetual license.',
    required: true,
    default: 365,
    integer: true,
    min: 0,
    max: 36_600,
    units: 'days',
  }),
  graceDays: Value.number({
    name: 'Grace period',
    description: 'Days a license keeps working after it expires.',
    required: true,
    default: 7,
    integer: true,
    min: 0,
    max: 36_600,
    units: 'days',
  }),
  maxMachines: Value.number({
    name: 'Machines',
    description:
      'How many machines may use one license at once; 0 for unlimited.',
    required: true,
    default: 1,
    integer: true,
    min: 0,
    max: 100_000,
  }),
  entitlements: Value.list(
    List.text(
      {
        name: 'Entitlements',
        description: "Slugs from the product's entitlement catalogue.",
      },
      { patterns: [slugPattern], placeholder: 'pro' },
    ),
  ),
  isTrial: Value.toggle({
    name: 'Trial',
    description: 'A free, time-limited tier (needs a duration).',
    default: false,
  }),
  public: Value.toggle({ name: 'Offered on the buy page', default: true }),
  ...machineRuleFields(true),
  oneTrialPerMachine: Value.toggle({
    name: 'One trial per machine',
    description:
      'A machine that already had a trial of this product cannot start another one, whatever the e-mail.',
    default: false,
  }),
})

export const createPolicy = guarded(
  sdk.Action.withInput(
    'create-policy',
    metadata(
      'Create policy',
      'A tier of a product: price, duration, machines and entitlements.',
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
        duration_seconds: input.durationDays * 86_400,
        grace_seconds: input.graceDays * 86_400,
        max_machines: input.maxMachines,
        entitlements: input.entitlements.map((e) => e.trim()),
        is_trial: input.isTrial,
        public: input.public,
        ...machineRules(input),
        one_trial_per_machine: input.oneTrialPerMachine,
      })
      return done(`Tier "${p.name}" created`, null, [
        value('Product', p.product_slug),
        value('Slug', p.slug),
        value('Price', sats(p.price_sats), { copyable: false }),
        value('Duration', days(p.duration_seconds), { copyable: false }),
        value('Grace period', days(p.grace_seconds), { copyable: false }),
        value('Machines', p.max_machines === 0 ? 'unlimited' : p.max_machines, {
          copyable: false,
        }),
        value('Entitlements', p.entitlements.join(', ') || 'none', {
          copyable: false,
        }),
        value('Offered on the buy page', p.public ? 'yes' : 'no', {
          copyable: false,
        }),
        ...machineRuleValues(p),
      ])
    }),
  ),
)
