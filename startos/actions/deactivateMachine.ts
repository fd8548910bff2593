import { done, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt, reason, uuidPattern } from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  machineId: Value.text({
    name: 'Machine id',
    description: 'From "List machines".',
    required: true,
    default: null,
    patterns: [uuidPattern],
  }),
  reason: reason(false, 'Kept in the audit log.'),
})

export const deactivateMachine = guarded(
  sdk.Action.withInput(
    'deactivate-machine',
    metadata(
      'Deactivate machine',
      'Frees the seat a machine holds; the license can then be used on another machine.',
      groups.machines,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const m = await api.deactivateMachine(
        input.machineId.trim(),
        opt(input.reason),
      )
      return done('Machine deactivated', 'Its seat is free.', [
        value('Machine id', m.id),
        value('License id', m.license_id),
        value('Hostname', m.hostname, { copyable: false }),
        value('Deactivated', m.deactivated_at, { copyable: false }),
        value('Why', m.deactivation_reason, { copyable: false }),
      ])
    }),
  ),
)
