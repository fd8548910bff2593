/**
 * What Keysat's package knows about the packages around it on StartOS 0.4,
 * in one place. The facts come from docs/startos/NEIGHBOURS.md (a copy of the
 * project's shared StartOS facts, gathered from Start9's btcpayserver-startos
 * at 9d8b215); startos/test/neighbours.test.ts reads that file and fails when
 * a value here differs from it.
 *
 * On StartOS 0.4 the `<package-id>` + ".startos" host names of 0.3 do not
 * resolve: containers reach each other over the LXC bridge, at the address
 * `sdk.host.getBridgeAddress` answers (startos/bridges.ts).
 *
 * No imports: the manifest reads these facts too.
 */
/** BTCPay Server's StartOS package, as of its package version `packageVersion`. */
export const btcpay = {
  packageId: 'btcpayserver',
  /** The MultiHost its web UI and API are bound on (it was `webui` before Dec 2025). */
  hostId: 'main',
  /** The `ui` interface exported on that host: what the operator's browser opens. */
  interfaceId: 'main',
  /** BTCPay's own port inside its container (an `http` binding). */
  internalPort: 23000,
  /** The plaintext address of the `http` binding: Keysat speaks HTTP to it over the bridge. */
  ssl: false,
  /** The daemon whose readiness says BTCPay's API answers ("Web Interface"). */
  healthCheck: 'btcpay',
  /** The package version these facts were read from. */
  packageVersion: '2.4.2:1',
} as const
