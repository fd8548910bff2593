import { WebhookEventType, webhookEventTypes } from '../api'
import { done, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt } from './fields'

const { InputSpec, Value } = sdk

/** What the daemon accepts (http/admin/webhook_endpoints.rs): http(s) with a host, at most 2000 characters. */
export const webhookUrlPattern = {
  regex: '^\\s*[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+\\S*\\s*$',
  description: 'an address starting with https:// or http://',
}

/** "every event type", or the subscribed types. */
export function describeEvents(events: string[]): string {
  return events.includes('*') ? 'every event type' : events.join(', ')
}

const inputSpec = InputSpec.of({
  url: Value.text({
    name: 'URL',
    description:
      'Where Keysat POSTs each event (JSON, signed in the Keysat-Signature header).',
    required: true,
    default: null,
    placeholder: 'https://erp.example.com/keysat',
    maxLength: 2000,
    patterns: [webhookUrlPattern],
  }),
  events: Value.multiselect({
    name: 'Events',
    description:
      'The event types to send; none chosen means every type, including types added later.',
    default: [],
    values: Object.fromEntries(webhookEventTypes.map((t) => [t, t])),
  }),
  description: Value.text({
    name: 'Description',
    description: 'A note for you (what receives these events).',
    required: false,
    default: null,
    maxLength: 500,
  }),
})

export const registerWebhookEndpoint = guarded(
  sdk.Action.withInput(
    'register-webhook-endpoint',
    metadata(
      'Register webhook endpoint',
      'An address of your own systems that hears of sales, licenses and machines; its signing secret is shown once.',
      groups.webhooks,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const e = await api.registerWebhookEndpoint({
        url: input.url.trim(),
        events: input.events.length
          ? (input.events as WebhookEventType[])
          : ['*'],
        description: opt(input.description),
      })
      return done(
        'Webhook endpoint registered',
        'Copy the signing secret now: it is shown only this once. The receiver checks the Keysat-Signature header with it.',
        [
          value('Signing secret', e.secret, {
            masked: true,
            description:
              'The HMAC-SHA256 key of the Keysat-Signature header. Shown only this once.',
          }),
          value('Endpoint id', e.id),
          value('URL', e.url),
          value('Events', describeEvents(e.events), { copyable: false }),
          value('Active', e.active ? 'yes' : 'no', { copyable: false }),
          value('Description', e.description, { copyable: false }),
        ],
      )
    }),
  ),
)
