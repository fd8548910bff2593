import { i18n } from './i18n'
import { T } from '@start9labs/start-sdk'
import { preferredUrl } from './addresses'
import { btcpayApiBridge, httpUrl, ownBridge } from './bridges'
import { sdk } from './sdk'
import { store } from './fileModels/store.json'
import {
  adminBind,
  apiInterfaceId,
  apiPort,
  dataDir,
  hostId,
  publicBind,
} from './utils'

/**
 * The daemon's environment (licensing-service/src/config.rs reads it): the
 * public listener on every interface, the admin listener inside the
 * container only, the data volume, the addresses Keysat and BTCPay reach
 * each other at over StartOS's bridge, demo mode, and what StartOS knows.
 */
export function keysatEnv(o: {
  adminKey: string
  /** What buyers reach the `api` interface at, when StartOS has one. */
  publicUrl: string | null
  /**
   * Where Keysat itself calls BTCPay's API: BTCPay's bridge address while the
   * btcpayserver package is installed. Unset otherwise, so the daemon calls
   * the address the operator connected (a BTCPay elsewhere).
   */
  btcpayUrl: string | null
  /**
   * Where BTCPay's container reaches Keysat (Keysat's own bridge address):
   * BTCPay's webhook is registered there rather than at the public URL.
   */
  webhookBaseUrl: string | null
  /** Demo mode: the simulated payment provider, no money moves. */
  demo: boolean
  /** StartOS's proxy in front of the public port, whose X-Forwarded-For is believed. */
  proxy: string | null
}): Record<string, string> {
  const env: Record<string, string> = {
    KEYSAT_BIND: publicBind,
    KEYSAT_ADMIN_BIND: adminBind,
    KEYSAT_DATA_DIR: dataDir,
    KEYSAT_ADMIN_API_KEY: o.adminKey,
    RUST_LOG: 'info',
  }
  if (o.publicUrl) env.KEYSAT_PUBLIC_URL = o.publicUrl
  if (o.btcpayUrl) env.KEYSAT_BTCPAY_URL = o.btcpayUrl
  if (o.webhookBaseUrl) env.KEYSAT_WEBHOOK_BASE_URL = o.webhookBaseUrl
  // clap's bool flag: `true`/`false` (it refuses `1`).
  if (o.demo) env.KEYSAT_DEMO = 'true'
  if (o.proxy) env.KEYSAT_TRUSTED_PROXIES = o.proxy
  return env
}

/**
 * What main.ts gives the daemon, read reactively (with `.const()`, so a
 * change re-runs main and restarts the daemon): the admin key and demo mode
 * from the package store, the public address StartOS gives the `api`
 * interface, and the bridge addresses Keysat and BTCPay reach each other at.
 */
export async function daemonEnv(effects: T.Effects) {
  const adminKey = await store()
    .read((s) => s.adminApiKey)
    .const(effects)
  if (!adminKey)
    throw new Error(i18n('The admin key is missing from the package store'))
  const demo =
    (await store()
      .read((s) => s.demoMode === true)
      .const(effects)) === true
  const publicUrl = await sdk.host
    .getOwn(effects, hostId, (h) => {
      const a = h?.bindings[apiPort]?.interfaces[apiInterfaceId]?.addressInfo
      if (!a) return null
      return preferredUrl({
        publicDomains: a.public.filter({ kind: 'domain' }).format(),
        public: a.public.format(),
        lan: a.nonLocal.format(),
      })
    })
    .const()
  return keysatEnv({
    adminKey,
    publicUrl,
    btcpayUrl: httpUrl(await btcpayApiBridge(effects).const()),
    webhookBaseUrl: httpUrl(await ownBridge(effects).const()),
    demo,
    proxy: await sdk.getOsIp(effects).catch(() => null),
  })
}
