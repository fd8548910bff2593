import { i18n } from '../i18n'
import { done, group, value } from '../results'
import { handler } from '../operator'
import { sdk } from '../sdk'
import { httpUrl, ownBridge } from '../bridges'
import { adminPort, webhookEndpoint } from '../utils'
import { groups, metadata } from './common/fields'

export const showCredentials = sdk.Action.withoutInput(
  'show-admin-credentials',
  metadata(
    i18n('Show admin credentials'),
    i18n(
      'The admin API key, the addresses buyers and applications use, and the public key your applications verify license keys with.',
    ),
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
      i18n('Keysat credentials'),
      i18n(
        'Keep the admin key secret. Ship the public key inside your application: it verifies license keys offline.',
      ),
      [
        value(i18n('Admin API key'), api.connection.adminKey, {
          masked: true,
          description: i18n(
            'Bearer token of the admin API (inside the service at http://127.0.0.1:${adminPort}/v1/admin).',
            { adminPort },
          ),
        }),
        group(i18n('Public URLs'), [
          value(i18n('Buy pages and public API'), settings.public_url, {
            description: i18n(
              'Share this address with buyers; licensed applications call /v1/validate here.',
            ),
          }),
          value(i18n('Public key (JSON)'), `${settings.public_url}/v1/pubkey`),
        ]),
        value(i18n('BTCPay webhook'), `${webhookBase}${webhookEndpoint}`, {
          description: i18n(
            "Where BTCPay reports payments: Keysat's address on StartOS's internal bridge, which BTCPay's container reaches (Keysat registers it for you when you connect BTCPay).",
          ),
        }),
        value(i18n('Signing public key (PEM)'), pem, {
          description: i18n(
            'Ed25519 public key; keysat-client verifies keys with it.',
          ),
        }),
      ],
    )
  }),
)
