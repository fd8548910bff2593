import { done } from '../results'
import { guarded, handler, withApi } from '../operator'
import { sdk } from '../sdk'
import { btcpayMembers } from './btcpayView'
import { clearConnectTask } from './checkBtcpay'
import { groups, metadata } from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  storeId: Value.dynamicSelect(async () => {
    const s = await withApi((api) => api.btcpayStatus())
    if (s.stores.length === 0) {
      return {
        name: 'Store',
        description: null,
        default: '',
        values: {
          '': s.connected
            ? `Connected to ${s.store_name ?? s.store_id}`
            : 'No store to choose',
        },
        disabled: s.connected
          ? 'Keysat is already connected to a store.'
          : 'Nothing to choose yet: run "Connect BTCPay" first.',
      }
    }
    return {
      name: 'Store',
      description: 'The BTCPay store Keysat creates invoices in.',
      default: s.stores[0].id,
      values: Object.fromEntries(
        s.stores.map((st) => [st.id, `${st.name} (${st.id})`]),
      ),
    }
  }),
})

export const chooseBtcpayStore = guarded(
  sdk.Action.withInput(
    'choose-btcpay-store',
    metadata(
      'Choose BTCPay store',
      'When BTCPay authorized Keysat for several stores: the one to sell in.',
      groups.btcpay,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ effects, input, api }) => {
      await api.btcpayChooseStore(input.storeId)
      const s = await api.btcpayStatus()
      if (s.connected) await clearConnectTask(effects)
      return done(
        s.connected ? 'BTCPay connected' : 'Store chosen',
        s.connected
          ? `Keysat takes payments in the store ${s.store_name ?? s.store_id}.`
          : null,
        btcpayMembers(s),
      )
    }),
  ),
)
