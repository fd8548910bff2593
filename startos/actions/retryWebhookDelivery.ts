import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { deliveryChoice } from './common/choices'
import { groups, metadata } from './common/fields'
import { deliveryMembers } from './common/webhookView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({ delivery: deliveryChoice() })

export const retryWebhookDelivery = sdk.Action.withInput(
  'retry-webhook-delivery',
  metadata(
    i18n('Retry webhook delivery'),
    i18n(
      'Sends one delivery again now, whatever its state (e.g. after fixing the receiver).',
    ),
    groups.webhooks,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const d = await api.retryWebhookDelivery(input.delivery)
    return done(
      d.delivered ? i18n('Delivered') : i18n('Not delivered'),
      d.delivered
        ? i18n('The endpoint accepted the event.')
        : i18n('The endpoint did not accept it; see the last attempt below.'),
      deliveryMembers(d),
    )
  }),
)
