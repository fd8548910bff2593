import { done } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, licenseId, metadata, reason } from './fields'
import { licenseMembers } from './licenseView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  licenseId: licenseId('From "Search licenses".'),
  reason: reason(true, 'Why (kept in the audit log and shown in support).'),
})

export const revokeLicense = guarded(
  sdk.Action.withInput(
    'revoke-license',
    metadata(
      'Revoke license',
      'Revoking is final: the key never validates again (e.g. a refund or a chargeback).',
      groups.licenses,
      'Revoking cannot be undone: the key stops working for good.',
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const l = await api.revokeLicense(
        input.licenseId.trim(),
        (input.reason ?? '').trim(),
      )
      return done('License revoked', null, licenseMembers(l))
    }),
  ),
)
