import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, group, sats, value } from '../results'
import { sdk } from '../sdk'
import { licenseField, resolveLicense } from './common/choices'
import { groups, metadata } from './common/fields'
import { detailsMembers } from './common/licenseView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({ license: licenseField() })

export const licenseDetails = sdk.Action.withInput(
  'license-details',
  metadata(
    i18n('License details'),
    i18n(
      'Everything about one license: its terms, machines, key delivery, validations, the sale it came from and its history.',
    ),
    groups.licenses,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const l = await resolveLicense(api, input.license)
    const s = await api.licenseSupport(l.license_id)
    const members = detailsMembers(s)
    if (s.invoice) {
      const i = s.invoice
      members.push(
        group(i18n('Sale'), [
          value(i18n('Invoice id'), i.invoice_id),
          value(i18n('Status'), i.status, { copyable: false }),
          value(
            i18n('Paid'),
            i.price_amount
              ? `${i.price_amount} ${i.price_currency}`
              : sats(i.amount_sats),
            {
              copyable: false,
            },
          ),
          value(i18n('Discount code'), i.code, { copyable: false }),
          value(i18n('Settled'), i.settled_at, { copyable: false }),
          value(i18n('Payment provider'), i.provider, { copyable: false }),
        ]),
      )
    }
    return done(
      i18n('License ${id}', { id: s.license_id }),
      i18n('${status}, ${active} of ${seats} machines active.', {
        status: s.status,
        active: s.active_machines,
        seats: s.max_machines === 0 ? '∞' : s.max_machines,
      }),
      members,
    )
  }),
)
