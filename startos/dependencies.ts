import { btcpay } from './neighbours'
import { sdk } from './sdk'
import { store } from './fileModels/store.json'

/**
 * BTCPay Server must be running with its API up (its `btcpay` daemon's
 * readiness, docs/startos/NEIGHBOURS.md): it creates the invoices buyers pay.
 */
export const btcpayRequirement = {
  kind: 'running' as const,
  versionRange: '>=2.0.0:0',
  healthChecks: [btcpay.healthCheck] as string[],
}

/**
 * BTCPay is the recommended payment rail, but required only once the operator
 * has chosen it (ran "Connect BTCPay"): before that Keysat is useful without
 * it (comp keys, free codes, demo mode, looking around), and an operator may
 * connect a BTCPay that runs elsewhere. StartOS 0.4 lets a package declare its
 * dependencies at run time from its own settings (Start9's BTCPay package
 * requires LND only once LND is chosen), so the manifest lists btcpayserver
 * as optional and this reads the choice from the package store, reactively.
 */
export const setDependencies = sdk.setupDependencies(async ({ effects }) => {
  const chosen = await store()
    .read((s) => s.btcpayChosen === true)
    .const(effects)
  return chosen ? { [btcpay.packageId]: btcpayRequirement } : {}
})
