import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, table } from '../results'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'
import { describeEvents } from './common/webhookView'

export const listWebhookEndpoints = sdk.Action.withoutInput(
  'list-webhook-endpoints',
  metadata(
    i18n('List webhook endpoints'),
    i18n('Every registered endpoint, its events and how its deliveries stand.'),
    groups.webhooks,
  ),
  handler<{}>(async ({ api }) => {
    const endpoints = await api.webhookEndpoints()
    return done(
      i18n('Webhook endpoints'),
      endpoints.length === 0
        ? i18n('No webhook endpoints yet (action "Register webhook endpoint").')
        : i18n('${n} endpoints.', { n: endpoints.length }),
      table(
        endpoints,
        (e) => `${e.url} — ${e.active ? i18n('active') : i18n('paused')}`,
        [
          [i18n('Endpoint id'), (e) => e.id, true],
          [i18n('URL'), (e) => e.url, true],
          [i18n('Events'), (e) => describeEvents(e.events)],
          [
            i18n('Active'),
            (e) => (e.active ? i18n('yes') : i18n('no (paused)')),
          ],
          [i18n('Description'), (e) => e.description],
          [i18n('Pending'), (e) => e.deliveries.pending],
          [i18n('Delivered'), (e) => e.deliveries.delivered],
          [i18n('Dead-letter'), (e) => e.deliveries.dead],
          [i18n('Registered'), (e) => e.created_at],
        ],
      ),
    )
  }),
)
