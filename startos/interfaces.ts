import { i18n } from './i18n'
import { sdk } from './sdk'
import {
  apiInterfaceId,
  apiPort,
  hostId,
  webhookInterfaceId,
  webhookPath,
} from './utils'

/** Both interfaces, as manifest.yaml lists them. */
export const interfaceSpecs = [
  {
    id: apiInterfaceId,
    name: i18n('Buy pages and API'),
    description: i18n(
      'Public: the buy and thank-you pages buyers open, and the API licensed applications call (/v1/validate, machines). Give it a public address (a domain or onion) so buyers reach it.',
    ),
    type: 'ui' as const,
    path: '/',
  },
  {
    id: webhookInterfaceId,
    name: i18n('BTCPay webhook'),
    description: i18n(
      'Where BTCPay Server reports paid invoices. Keysat registers it in your store when you connect BTCPay.',
    ),
    type: 'api' as const,
    path: webhookPath,
  },
]

export const setInterfaces = sdk.setupInterfaces(async ({ effects }) => {
  const origin = await sdk.MultiHost.of(effects, hostId).bindPort(apiPort, {
    protocol: 'http',
  })
  const interfaces = interfaceSpecs.map((i) =>
    sdk.createInterface(effects, {
      id: i.id,
      name: i.name,
      description: i.description,
      type: i.type,
      masked: false,
      schemeOverride: null,
      username: null,
      path: i.path === '/' ? '' : i.path,
      query: {},
    }),
  )
  return [await origin.export(interfaces)]
})
