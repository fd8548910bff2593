import { done, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt, reason, uuidPattern } from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  subscriptionId: Value.text({
    name: 'Subscription id',
    description: 'From "List subscriptions".',
    required: true,
    default: null,
    patterns: [uuidPattern],
  }),
  reason: reason(false, 'Why (kept in the audit log and told by webhook).'),
})

export const cancelSubscription = guarded(
  sdk.Action.withInput(
    'cancel-subscription',
    metadata(
      'Cancel subscription',
      'No more renewal reminders; the key keeps working until the end of the period already paid for.',
      groups.subscriptions,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const s = await api.cancelSubscription(
        input.subscriptionId.trim(),
        opt(input.reason),
      )
      return done(
        'Subscription canceled',
        `The license works until ${s.current_period_end} and will not be renewed.`,
        [
          value('Subscription id', s.subscription_id),
          value('License id', s.license_id),
          value('State', s.state, { copyable: false }),
          value('Paid until', s.current_period_end, { copyable: false }),
        ],
      )
    }),
  ),
)
