import { preferredUrl } from './addresses'
import { keysatEnv } from './env'
import { checkHealthz } from './health'
import { sdk } from './sdk'
import { store } from './store'
import {
  apiInterfaceId,
  apiPort,
  btcpay,
  dataDir,
  healthCheckId,
  healthCheckName,
  healthPath,
  hostId,
  keysatBin,
} from './utils'

export const main = sdk.setupMain(async ({ effects }) => {
  const adminKey = await store()
    .read((s) => s.adminApiKey)
    .const(effects)
  if (!adminKey)
    throw new Error('The admin key is missing from the package store')

  // Reactive: a new domain or onion address restarts the daemon with it.
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
  const btcpayAddress = await sdk.host
    .getBridgeAddress(effects, {
      hostId: btcpay.hostId,
      packageId: btcpay.packageId,
      internalPort: btcpay.internalPort,
    })
    .const()
  const proxy = await sdk.getOsIp(effects).catch(() => null)

  const env = keysatEnv({
    adminKey,
    publicUrl,
    btcpayUrl: btcpayAddress ? `http://${btcpayAddress}` : btcpay.fallbackUrl,
    proxy,
  })
  const mounts = sdk.Mounts.of().mountVolume({
    volumeId: 'main',
    subpath: null,
    mountpoint: dataDir,
    readonly: false,
  })

  return sdk.Daemons.of(effects).addDaemon(healthCheckId, {
    subcontainer: sdk.SubContainer.of(
      effects,
      { imageId: 'main' },
      mounts,
      'keysat',
    ),
    exec: { command: [keysatBin, 'serve'], env, sigtermTimeout: 20_000 },
    ready: {
      display: healthCheckName,
      gracePeriod: 30_000,
      fn: async () => {
        const port = await sdk.healthCheck.checkPortListening(
          effects,
          apiPort,
          {
            successMessage: 'listening',
            errorMessage: 'Keysat is not listening on its public port yet',
          },
        )
        if (port.result !== 'success') return port
        return checkHealthz(`http://127.0.0.1:${apiPort}${healthPath}`)
      },
    },
    requires: [],
  })
})
