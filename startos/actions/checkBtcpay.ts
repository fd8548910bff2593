import { T } from '@start9labs/start-sdk'
import { done, value, when } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { store } from '../store'
import { connectBtcpayTaskId } from '../utils'
import { btcpayMembers } from './btcpayView'
import { groups, metadata } from './fields'

/** Clears the "Connect BTCPay" task; StartOS may refuse while it is still open as critical. */
export async function clearConnectTask(effects: T.Effects) {
  try {
    await sdk.action.clearTask(effects, connectBtcpayTaskId)
  } catch (e) {
    console.warn('could not clear the Connect BTCPay task:', e)
  }
}

export const checkBtcpay = guarded(
  sdk.Action.withoutInput(
    'check-btcpay',
    metadata(
      'Check BTCPay connection',
      'Whether Keysat can take payments: the BTCPay store, its webhook, the last payment notice and the reconciliation of unpaid invoices.',
      groups.btcpay,
    ),
    handler<{}>(async ({ effects, api }) => {
      const s = await api.btcpayStatus()
      if (s.demo) {
        // Connected to the simulated provider, not to BTCPay: the task stays.
        return done(
          'Demo mode is on: payments are simulated',
          'No money moves and BTCPay is not used. Turn demo mode off (action "Demo mode") to take payments through BTCPay.',
          btcpayMembers(s),
        )
      }
      if (s.connected) {
        await clearConnectTask(effects)
        return done(
          'BTCPay is connected',
          `Keysat takes payments in the store ${s.store_name ?? s.store_id}.`,
          btcpayMembers(s),
        )
      }
      if (s.stores.length) {
        return done(
          'Choose your BTCPay store',
          'BTCPay authorized Keysat for several stores: run "Choose BTCPay store".',
          btcpayMembers(s),
        )
      }
      const saved = await store()
        .read((x) => x.btcpayBrowserUrl)
        .once()
      if (saved) {
        // Connect BTCPay ran while Keysat was stopped: hand out the link now.
        const auth = await api.btcpayConnect(saved)
        return done(
          'BTCPay is not connected yet: open this link',
          'Open the link in your browser and approve in BTCPay; then check again.',
          [
            value('Authorize link', auth.authorize_url, { qr: true }),
            value('Link expires', when(auth.expires_at), { copyable: false }),
            ...btcpayMembers(s),
          ],
        )
      }
      return done(
        'BTCPay is not connected',
        'Run "Connect BTCPay" to link your store.',
        btcpayMembers(s),
      )
    }),
  ),
)
