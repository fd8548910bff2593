import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { endpointChoice } from './common/choices'
import { groups, metadata } from './common/fields'
import { endpointMembers } from './common/webhookView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({ endpoint: endpointChoice() })

export const deleteWebhookEndpoint = sdk.Action.withInput(
  'delete-webhook-endpoint',
  metadata(
    i18n('Delete webhook endpoint'),
    i18n(
      'Stops sending events to an endpoint and forgets it (pause it instead to keep it).',
    ),
    groups.webhooks,
    i18n('Keysat stops sending it events for good.'),
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const e = await api.webhookEndpoint(input.endpoint)
    await api.deleteWebhookEndpoint(input.endpoint)
    return done(i18n('Webhook endpoint deleted'), null, endpointMembers(e))
  }),
)
