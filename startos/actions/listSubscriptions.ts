import { Subscription, SubscriptionState } from '../api'
import { done, table } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt, slugPattern, uuidPattern } from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  state: Value.select({
    name: 'State',
    description:
      'active; notice (the buyer was reminded to renew); past_due (the period ended, the key works during its grace); lapsed (the key no longer validates); canceled (no more reminders).',
    default: 'any',
    values: {
      any: 'Any',
      active: 'Active',
      notice: 'Renewal due',
      past_due: 'Past due',
      lapsed: 'Lapsed',
      canceled: 'Canceled',
    },
  }),
  product: Value.text({
    name: 'Product slug',
    description: 'Only this product (empty: every product).',
    required: false,
    default: null,
    patterns: [slugPattern],
  }),
  licenseId: Value.text({
    name: 'License id',
    description: 'Only the subscription of this license.',
    required: false,
    default: null,
    patterns: [uuidPattern],
  }),
  limit: Value.number({
    name: 'At most',
    description: 'How many to show, newest first.',
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
  }),
})

/** One subscription as a row of the answer. */
export function subscriptionColumns(): [
  string,
  (s: Subscription) => string | number | null,
  boolean?,
][] {
  return [
    ['Subscription id', (s) => s.subscription_id, true],
    ['License id', (s) => s.license_id, true],
    ['State', (s) => s.state],
    ['Product', (s) => s.product_slug],
    ['Tier', (s) => s.policy_slug],
    ['Moves to at renewal', (s) => s.next_policy_slug],
    ['Paid until', (s) => s.current_period_end],
    ['Reminder at', (s) => s.renewal_notice_at],
    ['Grace until', (s) => s.grace_until],
    ['Renewals', (s) => s.renewals],
    ['Canceled', (s) => s.canceled_at],
    ['Canceled by', (s) => s.canceled_by],
    ['Why', (s) => s.cancel_reason],
    ['Renew link (for the buyer)', (s) => s.renew_url, true],
  ]
}

export const listSubscriptions = guarded(
  sdk.Action.withInput(
    'list-subscriptions',
    metadata(
      'List subscriptions',
      'Licenses of recurring tiers and where each stands: renewal due, past due, lapsed or canceled.',
      groups.subscriptions,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const subs = await api.subscriptions({
        state:
          input.state === 'any'
            ? undefined
            : (input.state as SubscriptionState),
        product: opt(input.product),
        license_id: opt(input.licenseId),
        limit: input.limit,
      })
      return done(
        'Subscriptions',
        subs.length
          ? `${subs.length} subscription${subs.length === 1 ? '' : 's'}.`
          : 'No subscriptions.',
        table(
          subs,
          (s) =>
            `${s.product_slug ?? '?'} · ${s.policy_slug ?? '?'} — ${s.state}`,
          subscriptionColumns(),
        ),
      )
    }),
  ),
)
