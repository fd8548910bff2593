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

export const unsuspendLicense = sdk.Action.withInput(
  'unsuspend-license',
  metadata(
    i18n('Unsuspend license'),
    i18n('The key validates again.'),
    groups.licenses,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { license_id } = await resolveLicense(api, input.license)
    const l = await api.unsuspendLicense(license_id, opt(input.reason))
    return done(i18n('License active again'), null, licenseMembers(l))
  }),
)
