import { setupManifest } from '@start9labs/start-sdk'
import { btcpay } from '../neighbours'
import { btcpayDescription, long, short } from './i18n'

/**
 * Keysat's package manifest; manifest.yaml states the same facts and
 * startos/test/manifest.test.ts fails when the two disagree.
 */
export const manifest = setupManifest({
  id: 'keysat',
  title: 'Keysat',
  license: 'MIT',
  // Keysat has no public repository or website yet: these stay empty until
  // it has (the package and the service live in one repository, so
  // packageRepo and upstreamRepo will be the same address).
  packageRepo: '',
  upstreamRepo: '',
  marketingUrl: '',
  donationUrl: null,
  description: { short, long },
  volumes: ['main'],
  images: {
    main: {
      source: { dockerBuild: { dockerfile: 'Dockerfile', workdir: '.' } },
      arch: ['x86_64', 'aarch64'],
    },
  },
  hardwareRequirements: {},
  dependencies: {
    [btcpay.packageId]: {
      description: btcpayDescription,
      // Required at run time once the operator connects BTCPay (dependencies.ts).
      optional: true,
      metadata: {
        title: { en_US: 'BTCPay Server' },
        icon: 'https://raw.githubusercontent.com/Start9Labs/btcpayserver-startos/9d8b21559b5d1a7f57c0f87b4f65636e4ef104fd/icon.svg',
      },
    },
  },
})
