import { sdk } from './sdk'
import { btcpay } from './utils'

/** BTCPay Server must be running: it creates the invoices buyers pay. */
export const btcpayRequirement = {
  kind: 'running' as const,
  versionRange: '>=2.0.0:0',
  healthChecks: [] as string[],
}

export const setDependencies = sdk.setupDependencies(async () => ({
  [btcpay.packageId]: btcpayRequirement,
}))
