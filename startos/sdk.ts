import { StartSdk } from '@start9labs/start-sdk'
import { manifest } from './manifest'

/** The SDK bound to Keysat's manifest. */
export const sdk = StartSdk.of().withManifest(manifest).build(true)
