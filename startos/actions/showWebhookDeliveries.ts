import { WebhookDeliveryState } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, table } from '../results'
import { sdk } from '../sdk'
import { endpointChoice } from './common/choices'
import { groups, metadata } from './common/fields'
import { deliveryColumns, deliveryName } from './common/webhookView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  endpoint: endpointChoice(i18n('Endpoint'), { all: i18n('Every endpoint') }),
  state: Value.select({
    name: i18n('State'),
    default: 'all',
    values: {
      all: i18n('Any'),
      pending: i18n('Pending (will be tried again)'),
      delivered: i18n('Delivered'),
      dead: i18n('Dead-letter (gave up)'),
    },
  }),
  limit: Value.number({
    name: i18n('At most'),
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
    units: i18n('deliveries'),
  }),
})

export const showWebhookDeliveries = sdk.Action.withInput(
  'show-webhook-deliveries',
  metadata(
    i18n('Show webhook deliveries'),
    i18n(
      'The delivery log, newest first: each event sent to each endpoint, its last answer and what happens next.',
    ),
    groups.webhooks,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const deliveries = await api.webhookDeliveries({
      endpoint_id: input.endpoint === 'all' ? undefined : input.endpoint,
      state:
        input.state === 'all'
          ? undefined
          : (input.state as WebhookDeliveryState),
      limit: input.limit,
    })
    return done(
      i18n('Webhook deliveries'),
      deliveries.length === 0
        ? i18n('No deliveries.')
        : i18n('${n} deliveries.', { n: deliveries.length }),
      table(deliveries, deliveryName, deliveryColumns),
    )
  }),
)
