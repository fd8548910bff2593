import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { choice } from './common/choices'
import { groups, metadata, opt, reason } from './common/fields'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  subscription: choice(
    i18n('Subscription'),
    i18n(
      'The subscriptions, newest first: product, tier, state and the end of the paid period.',
    ),
    async (api) =>
      (await api.subscriptions({ limit: 500 })).map((s) => [
        s.subscription_id,
        i18n('${product} · ${tier} — ${state}, paid until ${end}', {
          product: s.product_slug ?? '?',
          tier: s.policy_slug ?? '?',
          state: s.state,
          end: s.current_period_end.slice(0, 10),
        }),
      ]),
    {
      none: i18n('No subscriptions'),
      why: i18n('No license of a recurring tier yet.'),
    },
  ),
  reason: reason(
    false,
    i18n('Why (kept in the audit log and told by webhook).'),
  ),
})

export const cancelSubscription = sdk.Action.withInput(
  'cancel-subscription',
  metadata(
    i18n('Cancel subscription'),
    i18n(
      'No more renewal reminders; the key keeps working until the end of the period already paid for.',
    ),
    groups.subscriptions,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const s = await api.cancelSubscription(
      input.subscription,
      opt(input.reason),
    )
    return done(
      i18n('Subscription canceled'),
      i18n('The license works until ${end} and will not be renewed.', {
        end: s.current_period_end,
      }),
      [
        value(i18n('Subscription id'), s.subscription_id),
        value(i18n('License id'), s.license_id),
        value(i18n('State'), s.state, { copyable: false }),
        value(i18n('Paid until'), s.current_period_end, { copyable: false }),
      ],
    )
  }),
)
