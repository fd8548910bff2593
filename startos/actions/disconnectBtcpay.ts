import { i18n } from '../i18n'
import { done } from '../results'
import { handler } from '../operator'
import { sdk } from '../sdk'
import { store } from '../fileModels/store.json'
import { btcpayMembers } from './common/btcpayView'
import { groups, metadata } from './common/fields'

export const disconnectBtcpay = sdk.Action.withoutInput(
  'disconnect-btcpay',
  metadata(
    i18n('Disconnect BTCPay'),
    i18n(
      'Forget the BTCPay store and remove Keysat’s webhook from it (to switch stores). Issued licenses keep working; new sales stop until you connect again.',
    ),
    groups.btcpay,
    i18n('Buyers cannot pay until you connect BTCPay again.'),
  ),
  handler<{}>(async ({ effects, api }) => {
    await api.btcpayDisconnect()
    // No BTCPay chosen any more: the btcpayserver package is no longer required.
    await store().merge(effects, { btcpayChosen: false })
    const s = await api.btcpayStatus()
    return done(
      i18n('BTCPay disconnected'),
      i18n('Run "Connect BTCPay" to link a store again.'),
      btcpayMembers(s),
    )
  }),
)
