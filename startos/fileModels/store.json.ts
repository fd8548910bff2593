/**
 * The package's own state, in volume `main` (so backups carry it): what the
 * daemon does not keep itself.
 */
import { FileHelper, z } from '@start9labs/start-sdk'
import { randomBytes } from 'node:crypto'
import { sdk } from '../sdk'

const shape = z.object({
  /** Bearer token of the daemon's admin API (KEYSAT_ADMIN_API_KEY). */
  adminApiKey: z.string().min(16).max(256),
  /** The address the operator's browser reaches BTCPay at, as last given to "Connect BTCPay". */
  btcpayBrowserUrl: z.string().optional(),
  /**
   * The operator chose BTCPay as the payment rail (ran "Connect BTCPay"; cleared
   * by "Disconnect BTCPay"): only then is the btcpayserver package required.
   */
  btcpayChosen: z.boolean().optional(),
  /** Demo mode ("Demo mode" action): simulated payments, KEYSAT_DEMO=true. */
  demoMode: z.boolean().optional(),
})

export type Store = z.infer<typeof shape>

/** The file: volume `main`, `startos-store.json` (the name since the first release). */
export const storeJson = FileHelper.json(
  { base: sdk.volumes.main, subpath: 'startos-store.json' },
  shape,
)
let current = storeJson

/**
 * The store file; a function rather than the bare FileHelper so the tests
 * can keep it elsewhere ({@link useStoreAt}).
 */
export function store() {
  return current
}

/** For the test suite only: keep the store in another file (`null` restores the package's). */
export function useStoreAt(path: string | null) {
  current = path === null ? storeJson : storeJson.withPath(path)
}

/** A new admin key: 256 random bits, in the daemon's `ksa_` form. */
export function newAdminKey(): string {
  return `ksa_${randomBytes(32).toString('hex')}`
}
