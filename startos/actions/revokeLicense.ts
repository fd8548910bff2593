import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { licenseField, resolveLicense } from './common/choices'
import { groups, metadata, reason } from './common/fields'
import { licenseMembers } from './common/licenseView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  license: licenseField(),
  reason: reason(
    true,
    i18n('Why (kept in the audit log and shown in support).'),
  ),
})

export const revokeLicense = sdk.Action.withInput(
  'revoke-license',
  metadata(
    i18n('Revoke license'),
    i18n(
      'Revoking is final: the key never validates again (e.g. a refund or a chargeback).',
    ),
    groups.licenses,
    i18n('Revoking cannot be undone: the key stops working for good.'),
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { license_id } = await resolveLicense(api, input.license)
    const l = await api.revokeLicense(license_id, (input.reason ?? '').trim())
    return done(i18n('License revoked'), null, licenseMembers(l))
  }),
)
