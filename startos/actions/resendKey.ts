import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value, when } from '../results'
import { sdk } from '../sdk'
import { licenseField, resolveLicense } from './common/choices'
import { groups, metadata } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  license: licenseField(),
  channel: Value.select({
    name: i18n('Send by'),
    description: i18n(
      'Automatic: a Nostr DM when the license has a buyer npub, otherwise e-mail.',
    ),
    default: 'auto',
    values: {
      auto: i18n('Automatic'),
      nostr: i18n('Nostr direct message'),
      email: i18n('E-mail'),
    },
  }),
})

export const resendKey = sdk.Action.withInput(
  'resend-key',
  metadata(
    i18n('Resend license key'),
    i18n(
      "Sends the key to its buyer again: a Nostr direct message to the buyer's npub, or an e-mail to their address (when e-mail is on).",
    ),
    groups.licenses,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { license_id } = await resolveLicense(api, input.license)
    const r = await api.resendKey(
      license_id,
      input.channel === 'auto' ? undefined : input.channel,
    )
    return done(
      i18n('License key queued for sending'),
      i18n(
        'Keysat delivers it in the background; "License details" shows how the delivery stands.',
      ),
      [
        value(i18n('License id'), r.license_id),
        value(i18n('Sent by'), r.channel, { copyable: false }),
        value(i18n('To'), r.recipient),
        value(i18n('Queued'), when(r.queued_at), { copyable: false }),
      ],
    )
  }),
)
