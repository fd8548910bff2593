/**
 * Names and numbers shared by the package's modules. manifest.yaml states the
 * same facts; startos/test/manifest.test.ts fails when the two disagree.
 */

/** Public listener: buy pages, public API, validation, BTCPay webhooks. */
export const apiPort = 8080
/** Admin listener, reachable only inside the container (the actions use it). */
export const adminPort = 8081
export const adminBind = `127.0.0.1:${adminPort}`
export const publicBind = `0.0.0.0:${apiPort}`

/** Where volume `main` is mounted in the daemon's container. */
export const dataDir = '/data'
/** The static binary the Dockerfile copies. */
export const keysatBin = '/usr/local/bin/keysat'

/** The one MultiHost both interfaces are exported from. */
export const hostId = 'main'
export const apiInterfaceId = 'api'
export const webhookInterfaceId = 'webhook'
/** The webhook interface's path: BTCPay-facing routes (the webhook and the connect callback). */
export const webhookPath = '/v1/btcpay'
/**
 * The path Keysat registers in the BTCPay store, under KEYSAT_WEBHOOK_BASE_URL
 * (Keysat's own bridge address on StartOS: startos/bridges.ts).
 */
export const webhookEndpoint = `${webhookPath}/webhook`
export const healthPath = '/healthz'
export const healthCheckId = 'primary'
export const healthCheckName = 'Keysat'

/**
 * The consistent database copy a backup carries (relative to the volume root).
 * The live database files are excluded from the rsync; restore puts this copy
 * back as keysat.db.
 */
export const snapshotSubpath = 'backup/keysat-snapshot.db'
export const liveDatabaseFiles = ['keysat.db', 'keysat.db-wal', 'keysat.db-shm']

/**
 * The "Connect BTCPay" task: its replayId, severity and when init creates it.
 * `important`, not `critical`: a critical task keeps Keysat stopped until it
 * is done, but comp keys, free codes and demo mode need no payment rail, and
 * the one-click connection itself needs the daemon running (BTCPay posts the
 * new key back to it). BTCPay stays the recommended rail: the task is shown
 * prominently until BTCPay is connected.
 */
export const connectBtcpayTaskId = 'keysat:connect-btcpay'
export const connectBtcpayTask = {
  severity: 'important' as const,
  on: ['install', 'restore'] as const,
}
