import { StripeStatus } from '../api'
import { done, group, Member, value, when } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata } from './fields'

const { InputSpec, Value } = sdk

/** The Stripe connection as the operator reads it. */
export function stripeMembers(s: StripeStatus): Member[] {
  const mode = s.livemode === null ? null : s.livemode ? 'live' : 'test'
  const members: Member[] = [
    value('Connected', s.connected ? 'yes' : 'no', { copyable: false }),
    value('Mode', mode, { copyable: false }),
    value('Webhook endpoint id', s.webhook_id),
    value('Webhook address', s.webhook_url, {
      description:
        'Stripe delivers payment, refund and dispute events here: it must be reachable from the internet.',
    }),
    value('Last event from Stripe', when(s.last_webhook_at) ?? 'none yet', {
      copyable: false,
    }),
    value('Last error', s.last_error, { copyable: false }),
  ]
  if (s.reconciliation) {
    members.push(
      group('Reconciliation', [
        value('Last run', when(s.reconciliation.last_run_at) ?? 'not yet', {
          copyable: false,
        }),
        value(
          'Card invoices still pending',
          s.reconciliation.pending_invoices ?? 0,
          { copyable: false },
        ),
      ]),
    )
  }
  return members
}

const inputSpec = InputSpec.of({
  secretKey: Value.text({
    name: 'Stripe secret key',
    description:
      'Stripe Dashboard › Developers › API keys. Best a restricted key (rk_live_…) with write access to Checkout Sessions, Refunds and Webhook Endpoints and read access to Charges and Disputes; a test key (sk_test_…, rk_test_…) takes test cards only.',
    required: true,
    default: null,
    masked: true,
    minLength: 12,
    maxLength: 255,
    patterns: [
      {
        regex: '^\\s*(sk|rk)_(test|live)_[A-Za-z0-9_]+\\s*$',
        description: 'a secret key such as rk_live_… or sk_test_…',
      },
    ],
  }),
})

export const connectStripe = guarded(
  sdk.Action.withInput(
    'connect-stripe',
    metadata(
      'Connect Stripe',
      'Take card payments too, through your own Stripe account: Keysat checks the key, registers its webhook endpoint at Stripe and offers "Pay by card" beside bitcoin on tiers that have a fiat price.',
      groups.stripe,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const c = await api.stripeConnect(input.secretKey.trim())
      const s = await api.stripeStatus()
      return done(
        `Stripe is connected (${c.livemode ? 'live' : 'test'} mode)`,
        'Buyers can now pay by card on tiers with a fiat price; tiers priced in sats stay bitcoin only.',
        stripeMembers(s),
      )
    }),
  ),
)
