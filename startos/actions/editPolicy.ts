import { days, done, sats, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, productChoice, slugPattern } from './fields'
import {
  machineRuleFields,
  machineRules,
  machineRuleValues,
} from './machineRules'

const { InputSpec, Value } = sdk

const keepOrToggle = {
  keep: 'Keep as it is',
  yes: 'Yes',
  no: 'No',
}

const inputSpec = InputSpec.of({
  product: productChoice('Product', 'The product the tier belongs to.'),
  slug: Value.text({
    name: 'Tier slug',
    description: 'The slug of the tier to change, e.g. "default".',
    required: true,
    default: 'default',
    patterns: [slugPattern],
  }),
  maxMachines: Value.number({
    name: 'Machines',
    description:
      'How many machines may use one license at once; 0 for unlimited. Applies to licenses issued from now on. Leave empty to keep it.',
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 100_000,
  }),
  ...machineRuleFields(false),
  oneTrialPerMachine: Value.select({
    name: 'One trial per machine',
    description:
      'A machine that already had a trial of this product cannot start another one, whatever the e-mail.',
    default: 'keep',
    values: keepOrToggle,
  }),
})

export const editPolicy = guarded(
  sdk.Action.withInput(
    'edit-policy',
    metadata(
      'Edit policy',
      "Change a tier's machines and machine rules: offline leases, self-service frees, floating seats, one trial per machine. Shows every setting of the tier.",
      groups.catalog,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const p = await api.patchPolicy(input.product, input.slug.trim(), {
        max_machines: input.maxMachines ?? undefined,
        ...machineRules(input),
        one_trial_per_machine:
          input.oneTrialPerMachine === 'keep'
            ? undefined
            : input.oneTrialPerMachine === 'yes',
      })
      return done(`Tier "${p.name}" saved`, null, [
        value('Product', p.product_slug),
        value('Slug', p.slug),
        value('Price', sats(p.price_sats), { copyable: false }),
        value('Duration', days(p.duration_seconds), { copyable: false }),
        value('Machines', p.max_machines === 0 ? 'unlimited' : p.max_machines, {
          copyable: false,
        }),
        value('Trial', p.is_trial ? 'yes' : 'no', { copyable: false }),
        ...machineRuleValues(p),
      ])
    }),
  ),
)
