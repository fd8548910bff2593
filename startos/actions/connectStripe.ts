import { StripeStatus } from '../api'
import { done, group, Member, value, when } from '../results'
import { handler } from '../operator'
import { i18n } from '../i18n'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'

const { InputSpec, Value } = sdk

/** The Stripe connection as the operator reads it. */
export function stripeMembers(s: StripeStatus): Member[] {
  const mode = s.livemode === null ? null : s.livemode ? 'live' : 'test'
  const members: Member[] = [
    value(i18n('Connected'), s.connected ? 'yes' : 'no', { copyable: false }),
    value(i18n('Mode'), mode, { copyable: false }),
    value(i18n('Webhook endpoint id'), s.webhook_id),
    value(i18n('Webhook address'), s.webhook_url, {
      description: i18n(
        'Stripe delivers payment, refund and dispute events here: it must be reachable from the internet.',
      ),
    }),
    value(
      i18n('Last event from Stripe'),
      when(s.last_webhook_at) ?? i18n('none yet'),
      {
        copyable: false,
      },
    ),
    value(i18n('Last error'), s.last_error, { copyable: false }),
  ]
  if (s.reconciliation) {
    members.push(
      group(i18n('Reconciliation'), [
        value(
          i18n('Last run'),
          when(s.reconciliation.last_run_at) ?? i18n('not yet'),
          {
            copyable: false,
          },
        ),
        value(
          i18n('Card invoices still pending'),
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
    name: i18n('Stripe secret key'),
    description: i18n(
      'Stripe Dashboard › Developers › API keys. Best a restricted key (rk_live_…) with write access to Checkout Sessions, Refunds and Webhook Endpoints and read access to Charges and Disputes; a test key (sk_test_…, rk_test_…) takes test cards only.',
    ),
    required: true,
    default: null,
    masked: true,
    minLength: 12,
    maxLength: 255,
    patterns: [
      {
        regex: '^\\s*(sk|rk)_(test|live)_[A-Za-z0-9_]+\\s*$',
        description: i18n('a secret key such as rk_live_… or sk_test_…'),
      },
    ],
  }),
})

export const connectStripe = sdk.Action.withInput(
  'connect-stripe',
  metadata(
    i18n('Connect Stripe'),
    i18n(
      'Take card payments too, through your own Stripe account: Keysat checks the key, registers its webhook endpoint at Stripe and offers "Pay by card" beside bitcoin on tiers that have a fiat price.',
    ),
    groups.stripe,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const c = await api.stripeConnect(input.secretKey.trim())
    const s = await api.stripeStatus()
    return done(
      i18n('Stripe is connected (${mode} mode)', {
        mode: c.livemode ? 'live' : 'test',
      }),
      i18n(
        'Buyers can now pay by card on tiers with a fiat price; tiers priced in sats stay bitcoin only.',
      ),
      stripeMembers(s),
    )
  }),
)
