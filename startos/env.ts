import { adminBind, dataDir, publicBind, webhookBaseUrl } from './utils'

/**
 * The daemon's environment (licensing-service/src/config.rs reads it): the
 * public listener on every interface, the admin listener inside the
 * container only, the data volume, the address BTCPay delivers its webhook
 * to, and what StartOS knows.
 */
export function keysatEnv(o: {
  adminKey: string
  /** What buyers reach the `api` interface at, when StartOS has one. */
  publicUrl: string | null
  /** Where Keysat itself calls BTCPay's API. */
  btcpayUrl: string
  /** StartOS's proxy in front of the public port, whose X-Forwarded-For is believed. */
  proxy: string | null
}): Record<string, string> {
  const env: Record<string, string> = {
    KEYSAT_BIND: publicBind,
    KEYSAT_ADMIN_BIND: adminBind,
    KEYSAT_DATA_DIR: dataDir,
    KEYSAT_ADMIN_API_KEY: o.adminKey,
    KEYSAT_BTCPAY_URL: o.btcpayUrl,
    KEYSAT_WEBHOOK_BASE_URL: webhookBaseUrl,
    RUST_LOG: 'info',
  }
  if (o.publicUrl) env.KEYSAT_PUBLIC_URL = o.publicUrl
  if (o.proxy) env.KEYSAT_TRUSTED_PROXIES = o.proxy
  return env
}
