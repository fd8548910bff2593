import { done } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { store } from '../store'
import { btcpayMembers } from './btcpayView'
import { groups, metadata } from './fields'

export const disconnectBtcpay = guarded(
  sdk.Action.withoutInput(
    'disconnect-btcpay',
    metadata(
      'Disconnect BTCPay',
      'Forget the BTCPay store and remove Keysat’s webhook from it (to switch stores). Issued licenses keep working; new sales stop until you connect again.',
      groups.btcpay,
      'Buyers cannot pay until you connect BTCPay again.',
    ),
    handler<{}>(async ({ effects, api }) => {
      await api.btcpayDisconnect()
      // No BTCPay chosen any more: the btcpayserver package is no longer required.
      await store().merge(effects, { btcpayChosen: false })
      const s = await api.btcpayStatus()
      return done(
        'BTCPay disconnected',
        'Run "Connect BTCPay" to link a store again.',
        btcpayMembers(s),
      )
    }),
  ),
)
