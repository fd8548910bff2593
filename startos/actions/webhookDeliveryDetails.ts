import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { deliveryChoice } from './common/choices'
import { groups, metadata } from './common/fields'
import { deliveryMembers } from './common/webhookView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({ delivery: deliveryChoice() })

export const webhookDeliveryDetails = sdk.Action.withInput(
  'webhook-delivery-details',
  metadata(
    i18n('Webhook delivery details'),
    i18n(
      'One delivery with every attempt: when, the answer, how long it took.',
    ),
    groups.webhooks,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const d = await api.webhookDelivery(input.delivery)
    return done(
      i18n('Delivery of ${event}', { event: d.event_type }),
      null,
      deliveryMembers(d),
    )
  }),
)
