import { InputError } from '../formRules'
import { done } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, licenseId, metadata, opt, reason } from './fields'
import { licenseMembers } from './licenseView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  licenseId: licenseId('From "Search licenses".'),
  extendDays: Value.number({
    name: 'Extend by (days)',
    description: 'Moves the expiry this many days later (empty: unchanged).',
    required: false,
    default: null,
    integer: true,
    min: 1,
    max: 36_500,
  }),
  maxMachines: Value.number({
    name: 'Machines allowed',
    description:
      '0 = unlimited (empty: unchanged). Machines already active keep their seats.',
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 100_000,
  }),
  addEntitlements: Value.text({
    name: 'Add entitlements',
    description: "Slugs from the product's catalogue, separated by commas.",
    required: false,
    default: null,
  }),
  removeEntitlements: Value.text({
    name: 'Remove entitlements',
    description: 'Slugs, separated by commas.',
    required: false,
    default: null,
  }),
  notify: Value.toggle({
    name: 'Send the new key to the buyer',
    description: 'By Nostr DM, when the license has a buyer npub.',
    default: true,
  }),
  reason: reason(false, 'Why (kept in the audit log).'),
})

function slugs(v: string | null | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

export const adjustLicense = guarded(
  sdk.Action.withInput(
    'adjust-license',
    metadata(
      'Adjust license',
      'Extend the expiry, change the seats, add or remove entitlements. The key is signed again; the old key sees the change online.',
      groups.licenses,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const add = slugs(input.addEntitlements)
      const remove = slugs(input.removeEntitlements)
      if (
        input.extendDays == null &&
        input.maxMachines == null &&
        add.length === 0 &&
        remove.length === 0
      ) {
        throw new InputError(
          'Nothing to change: give days to extend by, machines allowed or entitlements to add or remove.',
        )
      }
      const l = await api.adjustLicense(input.licenseId.trim(), {
        extend_seconds:
          input.extendDays == null ? undefined : input.extendDays * 86_400,
        max_machines: input.maxMachines ?? undefined,
        add_entitlements: add,
        remove_entitlements: remove,
        notify: input.notify,
        reason: opt(input.reason),
      })
      return done('License adjusted', null, licenseMembers(l))
    }),
  ),
)
