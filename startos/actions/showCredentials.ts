import { done, group, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { httpUrl, ownBridge } from '../bridges'
import { adminPort, webhookEndpoint } from '../utils'
import { groups, metadata } from './fields'

export const showCredentials = guarded(
  sdk.Action.withoutInput(
    'show-admin-credentials',
    metadata(
      'Show admin credentials',
      'The admin API key, the addresses buyers and applications use, and the public key your applications verify license keys with.',
      groups.setup,
    ),
    handler<{}>(async ({ effects, api }) => {
      const [settings, pem, bridge] = await Promise.all([
        api.settings(),
        api.pubkey(),
        ownBridge(effects).once(),
      ])
      // As main.ts gives the daemon: the bridge address, else the public URL.
      const webhookBase = httpUrl(bridge) ?? settings.public_url
      return done(
        'Keysat credentials',
        'Keep the admin key secret. Ship the public key inside your application: it verifies license keys offline.',
        [
          value('Admin API key', api.connection.adminKey, {
            masked: true,
            description: `Bearer token of the admin API (inside the service at http://127.0.0.1:${adminPort}/v1/admin).`,
          }),
          group('Public URLs', [
            value('Buy pages and public API', settings.public_url, {
              description:
                'Share this address with buyers; licensed applications call /v1/validate here.',
            }),
            value('Public key (JSON)', `${settings.public_url}/v1/pubkey`),
          ]),
          value('BTCPay webhook', `${webhookBase}${webhookEndpoint}`, {
            description:
              "Where BTCPay reports payments: Keysat's address on StartOS's internal bridge, which BTCPay's container reaches (Keysat registers it for you when you connect BTCPay).",
          }),
          value('Signing public key (PEM)', pem, {
            description:
              'Ed25519 public key; keysat-client verifies keys with it.',
          }),
        ],
      )
    }),
  ),
)
