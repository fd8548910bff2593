import { InputError } from '../formRules'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { licenseField, resolveLicense } from './common/choices'
import { groups, metadata, opt, reason } from './common/fields'
import { licenseMembers } from './common/licenseView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  license: licenseField(),
  extendDays: Value.number({
    name: i18n('Extend by (days)'),
    description: i18n(
      'Moves the expiry this many days later (empty: unchanged).',
    ),
    required: false,
    default: null,
    integer: true,
    min: 1,
    max: 36_500,
  }),
  maxMachines: Value.number({
    name: i18n('Machines allowed'),
    description: i18n(
      '0 = unlimited (empty: unchanged). Machines already active keep their seats.',
    ),
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 100_000,
  }),
  addEntitlements: Value.text({
    name: i18n('Add entitlements'),
    description: i18n(
      "Slugs from the product's catalogue, separated by commas.",
    ),
    required: false,
    default: null,
  }),
  removeEntitlements: Value.text({
    name: i18n('Remove entitlements'),
    description: i18n('Slugs, separated by commas.'),
    required: false,
    default: null,
  }),
  notify: Value.toggle({
    name: i18n('Send the new key to the buyer'),
    description: i18n('By Nostr DM, when the license has a buyer npub.'),
    default: true,
  }),
  reason: reason(false, i18n('Why (kept in the audit log).')),
})

function slugs(v: string | null | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

export const adjustLicense = sdk.Action.withInput(
  'adjust-license',
  metadata(
    i18n('Adjust license'),
    i18n(
      'Extend the expiry, change the seats, add or remove entitlements. The key is signed again; the old key sees the change online.',
    ),
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
        i18n(
          'Nothing to change: give days to extend by, machines allowed or entitlements to add or remove.',
        ),
      )
    }
    const { license_id } = await resolveLicense(api, input.license)
    const l = await api.adjustLicense(license_id, {
      extend_seconds:
        input.extendDays == null ? undefined : input.extendDays * 86_400,
      max_machines: input.maxMachines ?? undefined,
      add_entitlements: add,
      remove_entitlements: remove,
      notify: input.notify,
      reason: opt(input.reason),
    })
    return done(i18n('License adjusted'), null, licenseMembers(l))
  }),
)
