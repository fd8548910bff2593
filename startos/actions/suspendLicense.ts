import { done } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, licenseId, metadata, opt, reason } from './fields'
import { licenseMembers } from './licenseView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  licenseId: licenseId('From "Search licenses".'),
  reason: reason(false, 'Why (kept in the audit log).'),
})

export const suspendLicense = guarded(
  sdk.Action.withInput(
    'suspend-license',
    metadata(
      'Suspend license',
      'A suspended key stops validating until you unsuspend it (e.g. while a payment is disputed).',
      groups.licenses,
      null,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const l = await api.suspendLicense(
        input.licenseId.trim(),
        opt(input.reason),
      )
      return done('License suspended', null, licenseMembers(l))
    }),
  ),
)
