import { setupManifest } from '@start9labs/start-sdk'
import { btcpay } from '../neighbours'

/** Mirrors manifest.yaml (checked by startos/test/manifest.test.ts). */
export const manifest = setupManifest({
  id: 'keysat',
  title: 'Keysat',
  license: 'MIT',
  // The project has no public home yet; fill these in when it does.
  packageRepo: '',
  upstreamRepo: '',
  marketingUrl: '',
  donationUrl: null,
  description: {
    short: 'Sell software licenses for bitcoin from your own server',
    long: 'Keysat is a self-hosted, Bitcoin-first software-licensing server. Define products and tiers, share a buy link, get paid in bitcoin through your own BTCPay Server, and issue Ed25519-signed license keys that your applications verify offline. Support tasks (search, suspend, revoke, free a seat, comp keys, discount codes) are action buttons.',
  },
  volumes: ['main'],
  images: {
    main: {
      source: { dockerBuild: { dockerfile: 'Dockerfile', workdir: '.' } },
      arch: ['x86_64', 'aarch64'],
    },
  },
  dependencies: {
    [btcpay.packageId]: {
      description:
        'Takes the payments (recommended): Keysat creates invoices in your BTCPay store and issues the license when BTCPay reports the invoice paid. Required once you connect BTCPay; before that Keysat runs without it.',
      // Required at run time once the operator connects BTCPay (dependencies.ts).
      optional: true,
      s9pk: null,
    },
  },
})
