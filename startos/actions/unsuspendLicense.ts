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

export const unsuspendLicense = guarded(
  sdk.Action.withInput(
    'unsuspend-license',
    metadata(
      'Unsuspend license',
      'The key validates again.',
      groups.licenses,
      null,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const l = await api.unsuspendLicense(
        input.licenseId.trim(),
        opt(input.reason),
      )
      return done('License active again', null, licenseMembers(l))
    }),
  ),
)
