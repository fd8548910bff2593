import { WebhookEndpointPatch } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { endpointChoice } from './common/choices'
import { groups, keepYesNo, metadata, opt, switched } from './common/fields'
import { eventsField } from './registerWebhookEndpoint'
import { endpointMembers, webhookUrlPattern } from './common/webhookView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  endpoint: endpointChoice(),
  active: keepYesNo(
    i18n('Active'),
    i18n(
      '✕ pauses it: it receives no new events, and deliveries already queued wait until you turn it on again.',
    ),
  ),
  url: Value.text({
    name: i18n('URL'),
    description: i18n('Leave empty to keep it.'),
    required: false,
    default: null,
    maxLength: 2000,
    patterns: [webhookUrlPattern],
  }),
  events: eventsField(
    i18n(
      'Replaces the subscribed event types when you choose any; none chosen keeps them.',
    ),
  ),
  everyEvent: Value.toggle({
    name: i18n('Every event type'),
    description: i18n('Subscribe to every type, including types added later.'),
    default: false,
  }),
  description: Value.text({
    name: i18n('Description'),
    description: i18n('Leave empty to keep it.'),
    required: false,
    default: null,
    maxLength: 500,
  }),
})

type Input = typeof inputSpec._TYPE

function patch(input: Input): WebhookEndpointPatch {
  return {
    active: switched(input.active),
    url: opt(input.url),
    events: input.everyEvent
      ? ['*']
      : input.events.length
        ? input.events
        : undefined,
    description: opt(input.description),
  }
}

export const editWebhookEndpoint = sdk.Action.withInput(
  'edit-webhook-endpoint',
  metadata(
    i18n('Edit / pause webhook endpoint'),
    i18n(
      'Pause an endpoint or turn it on again, or change its address, events or description.',
    ),
    groups.webhooks,
  ),
  inputSpec,
  async () => null,
  handler<Input>(async ({ input, api }) => {
    const e = await api.patchWebhookEndpoint(input.endpoint, patch(input))
    return done(
      e.active
        ? i18n('Webhook endpoint saved')
        : i18n('Webhook endpoint saved (paused)'),
      null,
      endpointMembers(e),
    )
  }),
)
