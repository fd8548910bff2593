import { i18n } from '../i18n'
import { done } from '../results'
import { handler, withApi } from '../operator'
import { sdk } from '../sdk'
import { btcpayMembers } from './common/btcpayView'
import { clearConnectTask } from './checkBtcpay'
import { groups, metadata } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  storeId: Value.dynamicSelect(async () => {
    const s = await withApi((api) => api.btcpayStatus())
    if (s.stores.length === 0) {
      return {
        name: i18n('Store'),
        description: null,
        default: '',
        values: {
          '': s.connected
            ? i18n('Connected to ${store}', {
                store: s.store_name ?? s.store_id ?? '',
              })
            : i18n('No store to choose'),
        },
        disabled: s.connected
          ? i18n('Keysat is already connected to a store.')
          : i18n('Nothing to choose yet: run "Connect BTCPay" first.'),
      }
    }
    return {
      name: i18n('Store'),
      description: i18n('The BTCPay store Keysat creates invoices in.'),
      default: s.stores[0].id,
      values: Object.fromEntries(
        s.stores.map((st) => [st.id, `${st.name} (${st.id})`]),
      ),
    }
  }),
})

export const chooseBtcpayStore = sdk.Action.withInput(
  'choose-btcpay-store',
  metadata(
    i18n('Choose BTCPay store'),
    i18n(
      'When BTCPay authorized Keysat for several stores: the one to sell in.',
    ),
    groups.btcpay,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ effects, input, api }) => {
    await api.btcpayChooseStore(input.storeId)
    const s = await api.btcpayStatus()
    if (s.connected) await clearConnectTask(effects)
    return done(
      s.connected ? i18n('BTCPay connected') : i18n('Store chosen'),
      s.connected
        ? i18n('Keysat takes payments in the store ${store}.', {
            store: s.store_name ?? s.store_id ?? '',
          })
        : null,
      btcpayMembers(s),
    )
  }),
)
