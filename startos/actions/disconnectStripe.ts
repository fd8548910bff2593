import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'
import { stripeMembers } from './connectStripe'

export const disconnectStripe = sdk.Action.withoutInput(
  'disconnect-stripe',
  metadata(
    i18n('Disconnect Stripe'),
    i18n(
      'Stop taking cards: Keysat removes its webhook endpoint at Stripe and forgets the key. Issued licenses keep working; bitcoin sales go on.',
    ),
    groups.stripe,
    i18n('Buyers cannot pay by card until you connect Stripe again.'),
  ),
  handler<{}>(async ({ api }) => {
    await api.stripeDisconnect()
    return done(
      i18n('Stripe disconnected'),
      i18n('Run "Connect Stripe" to take cards again.'),
      stripeMembers(await api.stripeStatus()),
    )
  }),
)
