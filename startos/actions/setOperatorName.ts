import { i18n } from '../i18n'
import { done, value } from '../results'
import { handler, withApi } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  name: Value.text({
    name: i18n('Operator name'),
    description: i18n(
      'Your business name, shown to buyers on the buy and thank-you pages. Leave empty to show none.',
    ),
    required: false,
    default: null,
    placeholder: 'Ada Software',
    maxLength: 120,
  }),
  contactEmail: Value.text({
    name: i18n('Contact e-mail'),
    description: i18n(
      'An address buyers can write to, shown on every page and in every message to them. Leave empty for none.',
    ),
    required: false,
    default: null,
    placeholder: 'support@example.com',
    maxLength: 254,
  }),
  contactNpub: Value.text({
    name: i18n('Contact npub'),
    description: i18n(
      'A Nostr public key buyers can write to (npub1… or hex). Leave empty for none.',
    ),
    required: false,
    default: null,
    placeholder: 'npub1…',
    maxLength: 100,
  }),
  supportUrl: Value.text({
    name: i18n('Support page'),
    description: i18n(
      'Your support page (https://…), linked on every page. Leave empty for none.',
    ),
    required: false,
    default: null,
    placeholder: 'https://example.com/support',
    maxLength: 2000,
  }),
  termsUrl: Value.text({
    name: i18n('Terms of sale'),
    description: i18n(
      'Your terms of sale (https://…), linked on every page and shown before paying. Leave empty for none.',
    ),
    required: false,
    default: null,
    placeholder: 'https://example.com/terms',
    maxLength: 2000,
  }),
  refundPolicy: Value.textarea({
    name: i18n('Refund policy'),
    description: i18n(
      'What buyers can expect if they ask for their money back, shown before they pay. Leave empty for none.',
    ),
    required: false,
    default: null,
    maxLength: 4000,
  }),
})

/** An empty field clears the setting. */
const orNull = (v: string | null | undefined) => opt(v) ?? null

export const setOperatorName = sdk.Action.withInput(
  'set-operator-name',
  metadata(
    i18n('Seller name and contact'),
    i18n(
      'The seller name buyers see, how they reach you, your terms and your refund policy.',
    ),
    groups.setup,
  ),
  inputSpec,
  async () =>
    withApi(async (api) => {
      const s = await api.settings()
      return {
        name: s.operator_name,
        contactEmail: s.contact_email,
        contactNpub: s.contact_npub,
        supportUrl: s.support_url,
        termsUrl: s.terms_url,
        refundPolicy: s.refund_policy,
      }
    }),
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const s = await api.updateSettings({
      operator_name: orNull(input.name),
      contact_email: orNull(input.contactEmail),
      contact_npub: orNull(input.contactNpub),
      support_url: orNull(input.supportUrl),
      terms_url: orNull(input.termsUrl),
      refund_policy: orNull(input.refundPolicy),
    })
    return done(
      i18n('Seller name and contact saved'),
      s.operator_name
        ? i18n('Buyers now see "${operator_name}".', {
            operator_name: s.operator_name,
          })
        : i18n('Buyers see no operator name.'),
      [
        value(i18n('Operator name'), s.operator_name),
        value(i18n('Contact e-mail'), s.contact_email),
        value(i18n('Contact npub'), s.contact_npub),
        value(i18n('Support page'), s.support_url),
        value(i18n('Terms of sale'), s.terms_url),
        value(i18n('Refund policy'), s.refund_policy, { copyable: false }),
      ],
    )
  }),
)
