import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, table, value } from '../results'
import { sdk } from '../sdk'
import { licenseField, resolveLicense } from './common/choices'
import { groups, metadata, opt, reason } from './common/fields'
import { machineColumns, machineName } from './common/licenseView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  license: licenseField(),
  reason: reason(false, i18n('Kept in the audit log.')),
})

export const resetSeats = sdk.Action.withInput(
  'reset-seats',
  metadata(
    i18n('Free every machine of a license'),
    i18n(
      'Frees all the seats of one license at once (the buyer moved to new machines); each machine activates again when it next starts.',
    ),
    groups.machines,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { license_id } = await resolveLicense(api, input.license)
    const r = await api.resetSeats(license_id, opt(input.reason))
    return done(
      i18n('Seats freed'),
      r.freed === 1
        ? i18n('1 machine freed.')
        : i18n('${n} machines freed.', { n: r.freed }),
      [
        value(i18n('License id'), r.license_id),
        ...table(r.machines, machineName, machineColumns),
      ],
    )
  }),
)
