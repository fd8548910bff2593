import { done, table } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata } from './fields'
import { describeEvents } from './registerWebhookEndpoint'

export const listWebhookEndpoints = guarded(
  sdk.Action.withoutInput(
    'list-webhook-endpoints',
    metadata(
      'List webhook endpoints',
      'Every registered endpoint, its events and how its deliveries stand.',
      groups.webhooks,
    ),
    handler<{}>(async ({ api }) => {
      const endpoints = await api.webhookEndpoints()
      return done(
        'Webhook endpoints',
        endpoints.length
          ? `${endpoints.length} endpoint${endpoints.length === 1 ? '' : 's'}.`
          : 'No webhook endpoints yet (action "Register webhook endpoint").',
        table(
          endpoints,
          (e) => `${e.url} — ${e.active ? 'active' : 'inactive'}`,
          [
            ['Endpoint id', (e) => e.id, true],
            ['URL', (e) => e.url, true],
            ['Events', (e) => describeEvents(e.events)],
            ['Active', (e) => (e.active ? 'yes' : 'no')],
            ['Description', (e) => e.description],
            ['Pending', (e) => e.deliveries.pending],
            ['Delivered', (e) => e.deliveries.delivered],
            ['Dead-letter', (e) => e.deliveries.dead],
            ['Registered', (e) => e.created_at],
          ],
        ),
      )
    }),
  ),
)
