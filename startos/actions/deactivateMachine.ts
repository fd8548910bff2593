import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { machineChoice } from './common/choices'
import { groups, metadata, opt, reason } from './common/fields'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  machine: machineChoice(),
  reason: reason(false, i18n('Kept in the audit log.')),
})

export const deactivateMachine = sdk.Action.withInput(
  'deactivate-machine',
  metadata(
    i18n('Free one machine'),
    i18n(
      'Frees the seat one machine holds (chosen from the machines holding seats); the license can then be used on another machine.',
    ),
    groups.machines,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const m = await api.deactivateMachine(input.machine, opt(input.reason))
    return done(i18n('Machine freed'), i18n('Its seat is free.'), [
      value(i18n('Machine id'), m.id),
      value(i18n('License id'), m.license_id),
      value(i18n('Hostname'), m.hostname, { copyable: false }),
      value(i18n('Deactivated'), m.deactivated_at, { copyable: false }),
      value(i18n('Why'), m.deactivation_reason, { copyable: false }),
    ])
  }),
)
