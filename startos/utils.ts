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
/** The URL Keysat registers in the BTCPay store, under {@link webhookBaseUrl}. */
export const webhookEndpoint = `${webhookPath}/webhook`
/**
 * Where BTCPay's container reaches Keysat inside StartOS; the daemon registers
 * BTCPay's webhook there rather than at the public URL
 * (KEYSAT_WEBHOOK_BASE_URL).
 */
export const webhookBaseUrl = `http://keysat.startos:${apiPort}`
export const healthPath = '/healthz'
export const healthCheckId = 'primary'
export const healthCheckName = 'Keysat'

/** BTCPay Server's StartOS package: its host, port and in-OS name. */
export const btcpay = {
  packageId: 'btcpayserver',
  hostId: 'webui',
  internalPort: 23000,
  fallbackUrl: 'http://btcpayserver.startos:23000',
} as const

/**
 * The consistent database copy a backup carries (relative to the volume root).
 * The live database files are excluded from the rsync; restore puts this copy
 * back as keysat.db.
 */
export const snapshotSubpath = 'backup/keysat-snapshot.db'
export const liveDatabaseFiles = ['keysat.db', 'keysat.db-wal', 'keysat.db-shm']

/** The "Connect BTCPay" task: its replayId, severity and when init creates it. */
export const connectBtcpayTaskId = 'keysat:connect-btcpay'
export const connectBtcpayTask = {
  severity: 'critical' as const,
  on: ['install', 'restore'] as const,
}
