import { i18n } from './i18n'
import { daemonEnv } from './env'
import { checkHealthz } from './health'
import { sdk } from './sdk'
import {
  apiPort,
  dataDir,
  healthCheckId,
  healthCheckName,
  healthPath,
  keysatBin,
} from './utils'

export const main = sdk.setupMain(async ({ effects }) => {
  // Reactive: a new public address, BTCPay installed, removed or moved, or
  // demo mode switched restarts the daemon with the new environment.
  const env = await daemonEnv(effects)
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
            errorMessage: i18n(
              'Keysat is not listening on its public port yet',
            ),
          },
        )
        if (port.result !== 'success') return port
        return checkHealthz(`http://127.0.0.1:${apiPort}${healthPath}`)
      },
    },
    requires: [],
  })
})
