import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, seats, value } from '../results'
import { sdk } from '../sdk'
import { tierChoice, tierOf } from './common/choices'
import {
  emailPattern,
  groups,
  metadata,
  npubPattern,
  opt,
} from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  tier: tierChoice(
    i18n('Tier'),
    i18n('The product and tier whose terms the key carries.'),
  ),
  buyerEmail: Value.text({
    name: i18n('Buyer e-mail'),
    description: i18n(
      'Lets you find the license later and the buyer recover it.',
    ),
    required: false,
    default: null,
    inputmode: 'email',
    maxLength: 254,
    patterns: [emailPattern],
  }),
  buyerNpub: Value.text({
    name: i18n('Buyer npub'),
    description: i18n("The buyer's Nostr public key."),
    required: false,
    default: null,
    patterns: [npubPattern],
  }),
  note: Value.textarea({
    name: i18n('Note'),
    description: i18n('Why you issued it (shown in the audit log).'),
    required: false,
    default: null,
    maxLength: 2000,
  }),
  fingerprint: Value.text({
    name: i18n('Machine fingerprint'),
    description: i18n('Bind the key to one machine from the start (optional).'),
    required: false,
    default: null,
    maxLength: 256,
  }),
})

export const issueLicense = sdk.Action.withInput(
  'issue-license',
  metadata(
    i18n('Issue license manually'),
    i18n(
      'A license without payment: a comp, a replacement, a partner key. Its terms come from the tier and are signed into the key.',
    ),
    groups.licenses,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { product, tier } = tierOf(input.tier)
    const l = await api.issueLicense({
      product_slug: product,
      policy_slug: tier,
      buyer_email: opt(input.buyerEmail),
      buyer_npub: opt(input.buyerNpub),
      note: opt(input.note),
      fingerprint: opt(input.fingerprint),
    })
    return done(
      i18n('License issued'),
      i18n('Send the key to its owner; their application verifies it offline.'),
      [
        value(i18n('License key'), l.license_key, { qr: true }),
        value(i18n('License id'), l.license_id),
        value(i18n('Product'), l.product_slug, { copyable: false }),
        value(i18n('Tier'), l.policy_slug, { copyable: false }),
        value(i18n('Expires'), l.expires_at ?? i18n('never'), {
          copyable: false,
        }),
        value(i18n('Machines allowed'), seats(l.max_machines), {
          copyable: false,
        }),
        value(i18n('Entitlements'), l.entitlements.join(', ') || i18n('none'), {
          copyable: false,
        }),
      ],
    )
  }),
)
