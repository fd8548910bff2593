import { IMPOSSIBLE, VersionInfo } from '@start9labs/start-sdk'

export const v_0_1_0_0 = VersionInfo.of({
  version: '0.1.0:0',
  releaseNotes: {
    en_US:
      'First release: sell licenses for bitcoin through your BTCPay Server, Ed25519-signed keys verified offline, and every operator task as an action.',
  },
  migrations: {
    up: async () => {},
    down: IMPOSSIBLE,
  },
})
