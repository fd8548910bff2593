import { done, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import {
  emailPattern,
  groups,
  metadata,
  npubPattern,
  opt,
  productChoice,
  slugPattern,
} from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  product: productChoice(),
  policy: Value.text({
    name: 'Tier',
    description: 'Slug of the policy whose terms the key carries.',
    required: true,
    default: 'default',
    patterns: [slugPattern],
  }),
  buyerEmail: Value.text({
    name: 'Buyer e-mail',
    description: 'Lets you find the license later and the buyer recover it.',
    required: false,
    default: null,
    inputmode: 'email',
    maxLength: 254,
    patterns: [emailPattern],
  }),
  buyerNpub: Value.text({
    name: 'Buyer npub',
    description: "The buyer's Nostr public key.",
    required: false,
    default: null,
    patterns: [npubPattern],
  }),
  note: Value.textarea({
    name: 'Note',
    description: 'Why you issued it (shown in the audit log).',
    required: false,
    default: null,
    maxLength: 2000,
  }),
  fingerprint: Value.text({
    name: 'Machine fingerprint',
    description: 'Bind the key to one machine from the start (optional).',
    required: false,
    default: null,
    maxLength: 256,
  }),
})

export const issueLicense = guarded(
  sdk.Action.withInput(
    'issue-license',
    metadata(
      'Issue license manually',
      'A license without payment: a comp, a replacement, a partner key. Its terms come from the tier and are signed into the key.',
      groups.licenses,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const l = await api.issueLicense({
        product_slug: input.product,
        policy_slug: input.policy.trim(),
        buyer_email: opt(input.buyerEmail),
        buyer_npub: opt(input.buyerNpub),
        note: opt(input.note),
        fingerprint: opt(input.fingerprint),
      })
      return done(
        'License issued',
        'Send the key to its owner; their application verifies it offline.',
        [
          value('License key', l.license_key, { qr: true }),
          value('License id', l.license_id),
          value('Product', l.product_slug, { copyable: false }),
          value('Tier', l.policy_slug, { copyable: false }),
          value('Expires', l.expires_at ?? 'never', { copyable: false }),
          value(
            'Machines allowed',
            l.max_machines === 0 ? 'unlimited' : l.max_machines,
            { copyable: false },
          ),
          value('Entitlements', l.entitlements.join(', ') || 'none', {
            copyable: false,
          }),
        ],
      )
    }),
  ),
)
