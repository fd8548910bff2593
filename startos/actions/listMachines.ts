import { done, table } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt, uuidPattern } from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  licenseId: Value.text({
    name: 'License id',
    description:
      'Every machine of this license, active first. Empty: the most recently seen active machines.',
    required: false,
    default: null,
    patterns: [uuidPattern],
  }),
  limit: Value.number({
    name: 'At most',
    description: 'Without a license id: how many machines to show.',
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
  }),
})

export const listMachines = guarded(
  sdk.Action.withInput(
    'list-machines',
    metadata(
      'List machines',
      'The machines holding seats, to free one when a buyer changes computers.',
      groups.machines,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const machines = await api.machines(opt(input.licenseId), input.limit)
      return done(
        'Machines',
        machines.length
          ? `${machines.length} machine${machines.length === 1 ? '' : 's'}.`
          : 'No machines.',
        table(
          machines,
          (m) =>
            `${m.hostname ?? m.fingerprint.slice(0, 16)} — ${m.active ? 'active' : 'inactive'}`,
          [
            ['Machine id', (m) => m.id, true],
            ['License id', (m) => m.license_id, true],
            ['Active', (m) => (m.active ? 'yes' : 'no')],
            ['Hostname', (m) => m.hostname],
            ['Platform', (m) => m.platform],
            ['Fingerprint', (m) => m.fingerprint, true],
            ['Activated', (m) => m.activated_at],
            ['Last seen', (m) => m.last_seen_at],
            ['Deactivated', (m) => m.deactivated_at],
            ['Why', (m) => m.deactivation_reason],
          ],
        ),
      )
    }),
  ),
)
