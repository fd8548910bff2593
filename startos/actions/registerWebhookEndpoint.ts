import { WebhookEventType, webhookEventTypes } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { groups, metadata, opt } from './common/fields'
import { endpointMembers, webhookUrlPattern } from './common/webhookView'

const { InputSpec, Value } = sdk

/** The event types an endpoint can subscribe to. */
export function eventsField(description: string) {
  return Value.multiselect({
    name: i18n('Events'),
    description,
    default: [],
    values: Object.fromEntries(webhookEventTypes.map((t) => [t, t])),
  })
}

const inputSpec = InputSpec.of({
  url: Value.text({
    name: i18n('URL'),
    description: i18n(
      'Where Keysat POSTs each event (JSON, signed in the Keysat-Signature header).',
    ),
    required: true,
    default: null,
    placeholder: 'https://erp.example.com/keysat',
    maxLength: 2000,
    patterns: [webhookUrlPattern],
  }),
  events: eventsField(
    i18n(
      'The event types to send; none chosen means every type, including types added later.',
    ),
  ),
  description: Value.text({
    name: i18n('Description'),
    description: i18n('A note for you (what receives these events).'),
    required: false,
    default: null,
    maxLength: 500,
  }),
})

export const registerWebhookEndpoint = sdk.Action.withInput(
  'register-webhook-endpoint',
  metadata(
    i18n('Register webhook endpoint'),
    i18n(
      'An address of your own systems that hears of sales, licenses and machines; its signing secret is shown once.',
    ),
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
      i18n('Webhook endpoint registered'),
      i18n(
        'Copy the signing secret now: it is shown only this once. The receiver checks the Keysat-Signature header with it.',
      ),
      [
        value(i18n('Signing secret'), e.secret, {
          masked: true,
          description: i18n(
            'The HMAC-SHA256 key of the Keysat-Signature header. Shown only this once.',
          ),
        }),
        ...endpointMembers(e),
      ],
    )
  }),
)
