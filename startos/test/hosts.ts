/**
 * Stand-ins for what StartOS 0.4 answers to `getHostInfo`: a package's host
 * with one `http` binding, its exported interfaces and the addresses StartOS
 * derives for it (LAN, public domain, and the LXC bridge that other
 * containers use).
 */
import { T } from '@start9labs/start-sdk'
import { apiInterfaceId, apiPort, hostId, webhookInterfaceId } from '../utils'

type Hostname = T.HostnameInfo

/** The LXC bridge address (10.0.3.1 on StartOS) at an assigned port; plaintext unless `ssl`. */
export const bridge = (
  port: number,
  ssl = false,
  ip = '10.0.3.1',
): Hostname => ({
  ssl,
  public: false,
  hostname: ip,
  port,
  metadata: { kind: 'ipv4', gateway: 'lxcbr0' },
})

/** A LAN address of the server. */
export const lan = (ip: string, port: number, ssl = false): Hostname => ({
  ssl,
  public: false,
  hostname: ip,
  port,
  metadata: { kind: 'ipv4', gateway: 'eth0' },
})

/** A public domain the operator gave the interface (https on 443). */
export const publicDomain = (name: string): Hostname => ({
  ssl: true,
  public: true,
  hostname: name,
  port: 443,
  metadata: { kind: 'public-domain', gateway: 'eth0' },
})

/** A host whose `internalPort` binding exports `interfaceIds` at `addresses`. */
export function fakeHost(o: {
  hostId: string
  internalPort: number
  interfaceIds: string[]
  addresses: Hostname[]
}): T.Host {
  const interfaces = Object.fromEntries(
    o.interfaceIds.map((id) => [
      id,
      {
        id,
        name: id,
        description: '',
        masked: false,
        type: 'ui' as const,
        addressInfo: {
          username: null,
          hostId: o.hostId,
          internalPort: o.internalPort,
          scheme: 'http',
          sslScheme: 'https',
          suffix: '',
        },
      },
    ]),
  )
  return {
    bindings: {
      [o.internalPort]: {
        enabled: true,
        options: {
          preferredExternalPort: o.internalPort,
          addSsl: null,
          secure: null,
        },
        net: { assignedPort: null, assignedSslPort: null },
        addresses: {
          enabled: [],
          disabled: [],
          guaWan: [],
          available: o.addresses,
        },
        interfaces,
      },
    },
    bindingRanges: {},
    publicDomains: {},
    privateDomains: {},
    portForwards: [],
  } as unknown as T.Host
}

/** Keysat's own bridge port in the tests (harness.keysatBridgeUrl). */
export const keysatBridgePort = 49180

/** Keysat's own host as StartOS reports it: both interfaces on port 8080, a public domain. */
export const keysatHost = fakeHost({
  hostId,
  internalPort: apiPort,
  interfaceIds: [apiInterfaceId, webhookInterfaceId],
  addresses: [
    bridge(keysatBridgePort),
    bridge(keysatBridgePort + 1, true),
    publicDomain('shop.example.com'),
  ],
})
