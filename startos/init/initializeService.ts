import { i18n } from '../i18n'
import { T } from '@start9labs/start-sdk'
import { connectBtcpay } from '../actions/connectBtcpay'
import { sdk } from '../sdk'
import { newAdminKey, store } from '../fileModels/store.json'
import { connectBtcpayTask, connectBtcpayTaskId } from '../utils'

/** The admin key exists before the daemon first starts (and again if the store was lost). */
export async function ensureAdminKey(effects: T.Effects) {
  const key = await store()
    .read((s) => s.adminApiKey)
    .once()
  if (!key) await store().merge(effects, { adminApiKey: newAdminKey() })
}

/** "Connect BTCPay" is the first thing to do on a new install and after a restore. */
export async function requestBtcpayConnection(effects: T.Effects) {
  await sdk.action.createOwnTask(
    effects,
    connectBtcpay,
    connectBtcpayTask.severity,
    {
      replayId: connectBtcpayTaskId,
      reason: i18n(
        'Connect your BTCPay Server store so buyers can pay (after a restore: check that the connection and its webhook still work).',
      ),
    },
  )
}

export const initializeService = sdk.setupOnInit(async (effects, kind) => {
  await ensureAdminKey(effects)
  if (connectBtcpayTask.on.some((k) => k === kind)) {
    await requestBtcpayConnection(effects)
  }
})
