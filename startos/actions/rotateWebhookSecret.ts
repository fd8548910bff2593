import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { endpointChoice } from './common/choices'
import { groups, metadata } from './common/fields'
import { endpointMembers } from './common/webhookView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({ endpoint: endpointChoice() })

export const rotateWebhookSecret = sdk.Action.withInput(
  'rotate-webhook-secret',
  metadata(
    i18n('Rotate webhook secret'),
    i18n(
      'Gives an endpoint a new signing secret (shown once); the old one stops working at once, so update the receiver right away.',
    ),
    groups.webhooks,
    i18n(
      'Deliveries signed with the new secret fail at the receiver until it has the new secret.',
    ),
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const e = await api.patchWebhookEndpoint(input.endpoint, {
      rotate_secret: true,
    })
    return done(
      i18n('New signing secret'),
      i18n('Copy it now: it is shown only this once.'),
      [
        value(i18n('Signing secret'), e.secret, { masked: true }),
        ...endpointMembers(e),
      ],
    )
  }),
)
