import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { licenseField, resolveLicense } from './common/choices'
import { groups, metadata, opt, reason } from './common/fields'
import { licenseMembers } from './common/licenseView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  license: licenseField(),
  reason: reason(false, i18n('Why (kept in the audit log).')),
})

export const suspendLicense = sdk.Action.withInput(
  'suspend-license',
  metadata(
    i18n('Suspend license'),
    i18n(
      'A suspended key stops validating until you unsuspend it (e.g. while a payment is disputed).',
    ),
    groups.licenses,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { license_id } = await resolveLicense(api, input.license)
    const l = await api.suspendLicense(license_id, opt(input.reason))
    return done(i18n('License suspended'), null, licenseMembers(l))
  }),
)
