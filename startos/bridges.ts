/**
 * Addresses on the LXC bridge, where containers reach each other on StartOS
 * 0.4 (docs/startos/NEIGHBOURS.md). Each is reactive: with `.const()`, main
 * re-runs (restarting the daemon) when the address changes.
 */
import { T } from '@start9labs/start-sdk'
import { btcpay } from './neighbours'
import { sdk } from './sdk'
import { apiPort, hostId } from './utils'

/**
 * `host:port` at which Keysat's container reaches BTCPay's API, or null while
 * BTCPay is not installed. Used with `.const()`, so a changed address
 * restarts the daemon with it.
 */
export function btcpayApiBridge(effects: T.Effects) {
  return sdk.host.getBridgeAddress(effects, {
    packageId: btcpay.packageId,
    hostId: btcpay.hostId,
    internalPort: btcpay.internalPort,
    ssl: btcpay.ssl,
  })
}

/**
 * `host:port` at which other containers (BTCPay delivering its webhook)
 * reach Keysat's own public port: the same call without a package id.
 */
export function ownBridge(effects: T.Effects) {
  return sdk.host.getBridgeAddress(effects, {
    hostId,
    internalPort: apiPort,
    ssl: false,
  })
}

/** `http://host:port` for a bridge address (null stays null). */
export const httpUrl = (address: string | null) =>
  address ? `http://${address}` : null
