import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, table } from '../results'
import { sdk } from '../sdk'
import { resolveLicense } from './common/choices'
import { groups, metadata, opt } from './common/fields'
import { machineColumns, machineName } from './common/licenseView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  license: Value.text({
    name: i18n('License'),
    description: i18n(
      "Every machine of this license (its id or key, or its buyer's e-mail or npub), active first. Empty: the most recently seen machines.",
    ),
    required: false,
    default: null,
    maxLength: 1000,
  }),
  limit: Value.number({
    name: i18n('At most'),
    description: i18n('Without a license: how many machines to show.'),
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
  }),
})

export const listMachines = sdk.Action.withInput(
  'list-machines',
  metadata(
    i18n('List machines'),
    i18n('The machines holding seats, to see who runs what where.'),
    groups.machines,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const given = opt(input.license)
    const licenseId = given
      ? (await resolveLicense(api, given)).license_id
      : undefined
    const machines = await api.machines(licenseId, input.limit)
    return done(
      i18n('Machines'),
      machines.length === 0
        ? i18n('No machines.')
        : i18n('${n} machines.', { n: machines.length }),
      table(machines, machineName, machineColumns),
    )
  }),
)
