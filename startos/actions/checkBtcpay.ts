import { i18n } from '../i18n'
import { T } from '@start9labs/start-sdk'
import { done, value, when } from '../results'
import { handler } from '../operator'
import { sdk } from '../sdk'
import { store } from '../fileModels/store.json'
import { connectBtcpayTaskId } from '../utils'
import { btcpayMembers } from './common/btcpayView'
import { groups, metadata } from './common/fields'

/** Clears the "Connect BTCPay" task; StartOS may refuse while it is still open as critical. */
export async function clearConnectTask(effects: T.Effects) {
  try {
    await sdk.action.clearTask(effects, connectBtcpayTaskId)
  } catch (e) {
    console.warn('could not clear the Connect BTCPay task:', e)
  }
}

export const checkBtcpay = sdk.Action.withoutInput(
  'check-btcpay',
  metadata(
    i18n('Check BTCPay connection'),
    i18n(
      'Whether Keysat can take payments: the BTCPay store, its webhook, the last payment notice and the reconciliation of unpaid invoices.',
    ),
    groups.btcpay,
  ),
  handler<{}>(async ({ effects, api }) => {
    const s = await api.btcpayStatus()
    if (s.demo) {
      // Connected to the simulated provider, not to BTCPay: the task stays.
      return done(
        i18n('Demo mode is on: payments are simulated'),
        i18n(
          'No money moves and BTCPay is not used. Turn demo mode off (action "Demo mode") to take payments through BTCPay.',
        ),
        btcpayMembers(s),
      )
    }
    if (s.connected) {
      await clearConnectTask(effects)
      return done(
        i18n('BTCPay is connected'),
        i18n('Keysat takes payments in the store ${store}.', {
          store: s.store_name ?? s.store_id ?? '',
        }),
        btcpayMembers(s),
      )
    }
    if (s.stores.length) {
      return done(
        i18n('Choose your BTCPay store'),
        i18n(
          'BTCPay authorized Keysat for several stores: run "Choose BTCPay store".',
        ),
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
        i18n('BTCPay is not connected yet: open this link'),
        i18n(
          'Open the link in your browser and approve in BTCPay; then check again.',
        ),
        [
          value(i18n('Authorize link'), auth.authorize_url, { qr: true }),
          value(i18n('Link expires'), when(auth.expires_at), {
            copyable: false,
          }),
          ...btcpayMembers(s),
        ],
      )
    }
    return done(
      i18n('BTCPay is not connected'),
      i18n('Run "Connect BTCPay" to link your store.'),
      btcpayMembers(s),
    )
  }),
)
