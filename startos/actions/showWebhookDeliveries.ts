import { WebhookDeliveryState } from '../api'
import { done, table } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt, uuidPattern } from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  endpointId: Value.text({
    name: 'Endpoint id',
    description: 'Only the deliveries to this endpoint; empty for all.',
    required: false,
    default: null,
    patterns: [uuidPattern],
  }),
  state: Value.select({
    name: 'State',
    default: 'all',
    values: {
      all: 'Any',
      pending: 'Pending (will be tried again)',
      delivered: 'Delivered',
      dead: 'Dead-letter (gave up)',
    },
  }),
  limit: Value.number({
    name: 'At most',
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
    units: 'deliveries',
  }),
})

export const showWebhookDeliveries = guarded(
  sdk.Action.withInput(
    'show-webhook-deliveries',
    metadata(
      'Show webhook deliveries',
      'The delivery log, newest first: each event sent to each endpoint, its last answer and what happens next.',
      groups.webhooks,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const deliveries = await api.webhookDeliveries({
        endpoint_id: opt(input.endpointId),
        state:
          input.state === 'all'
            ? undefined
            : (input.state as WebhookDeliveryState),
        limit: input.limit,
      })
      return done(
        'Webhook deliveries',
        deliveries.length
          ? `${deliveries.length} deliver${deliveries.length === 1 ? 'y' : 'ies'}.`
          : 'No deliveries.',
        table(deliveries, (d) => `${d.event_type} — ${d.state}`, [
          ['Delivery id', (d) => d.id, true],
          ['Event id', (d) => d.event_id, true],
          ['Event', (d) => d.event_type],
          ['Endpoint', (d) => d.endpoint_url],
          ['State', (d) => d.state],
          ['Attempts', (d) => d.attempts],
          ['Last status', (d) => d.status_code],
          [
            'Last latency',
            (d) => (d.latency_ms === null ? null : `${d.latency_ms} ms`),
          ],
          ['Last error', (d) => d.error],
          ['Next attempt', (d) => d.next_attempt_at],
          ['Delivered', (d) => d.delivered_at],
          ['Created', (d) => d.created_at],
        ]),
      )
    }),
  ),
)
