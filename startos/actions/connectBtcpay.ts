import { i18n } from '../i18n'
import { KeysatError } from '../api'
import { preferredUrl } from '../addresses'
import { done, value, when } from '../results'
import { handler } from '../operator'
import { sdk } from '../sdk'
import { store } from '../fileModels/store.json'
import { btcpay } from '../neighbours'
import { btcpayMembers } from './common/btcpayView'
import { clearConnectTask } from './checkBtcpay'
import { groups } from './common/fields'

const { InputSpec, Value, Variants } = sdk

export const urlPattern = {
  regex: '^https?://[^\\s/?#]+(?::[0-9]{1,5})?(?:/[^\\s?#]*)?$',
  description: i18n(
    'an address such as https://btcpay.example.com or http://btcpay.local',
  ),
}

const btcpayUrl = Value.text({
  name: i18n('BTCPay address'),
  description: i18n(
    "The address your browser opens BTCPay Server at (one of BTCPay's interface addresses). Keysat itself reaches BTCPay inside StartOS.",
  ),
  required: true,
  default: null,
  inputmode: 'url',
  placeholder: 'https://btcpay.example.com',
  patterns: [urlPattern],
})

const inputSpec = InputSpec.of({
  method: Value.union({
    name: i18n('How'),
    default: 'authorize',
    variants: Variants.of({
      authorize: {
        name: i18n('Authorize in BTCPay (recommended)'),
        spec: InputSpec.of({ btcpayUrl }),
      },
      manual: {
        name: i18n('Paste an API key'),
        spec: InputSpec.of({
          btcpayUrl,
          apiKey: Value.text({
            name: i18n('API key'),
            description: i18n(
              'A BTCPay API key (Account › API keys) with permission to view and create invoices, manage webhooks of the store and create pull payments (for refunds).',
            ),
            required: true,
            default: null,
            masked: true,
            minLength: 10,
            maxLength: 200,
          }),
          storeId: Value.text({
            name: i18n('Store id'),
            description: i18n('BTCPay › Store settings › General › Store ID.'),
            required: true,
            default: null,
            maxLength: 100,
            patterns: [
              {
                regex: '^[A-Za-z0-9_-]+$',
                description: i18n('letters, digits, "-" or "_"'),
              },
            ],
          }),
        }),
      },
    }),
  }),
})

/**
 * The address the operator's browser opens BTCPay at, when BTCPay's package
 * is installed: its `ui` interface's public or LAN address. Never the bridge
 * address Keysat itself uses (10.0.3.x is reachable only from containers):
 * `nonLocal` and the public addresses leave it out.
 */
export async function btcpayBrowserAddress(
  effects: Parameters<typeof sdk.host.get>[0],
): Promise<string | null> {
  try {
    const host = await sdk.host
      .get(effects, { hostId: btcpay.hostId, packageId: btcpay.packageId })
      .once()
    const a =
      host?.bindings[btcpay.internalPort]?.interfaces[btcpay.interfaceId]
        ?.addressInfo
    if (!a) return null
    const reachable = a.nonLocal
    return preferredUrl({
      publicDomains: reachable.public.filter({ kind: 'domain' }).format(),
      public: reachable.public.format(),
      lan: reachable.format(),
    })
  } catch {
    return null
  }
}

export const connectBtcpay = sdk.Action.withInput(
  'connect-btcpay',
  {
    name: i18n('Connect BTCPay'),
    description: i18n(
      'Link Keysat to your BTCPay Server store: open the link this gives you, approve in BTCPay, and Keysat finds the store and registers its webhook. No key copying.',
    ),
    warning: null,
    // Runnable while Keysat is stopped: it saves the address (and the choice
    // of BTCPay, which makes the btcpayserver package required); "Check
    // BTCPay connection" hands out the link once Keysat runs.
    allowedStatuses: 'any',
    group: groups.btcpay,
    visibility: 'enabled',
  },
  inputSpec,
  async ({ effects }) => {
    const saved = await store()
      .read((s) => s.btcpayBrowserUrl)
      .once()
    const url = saved ?? (await btcpayBrowserAddress(effects))
    return url
      ? {
          method: {
            selection: 'authorize' as const,
            value: { btcpayUrl: url },
          },
        }
      : null
  },
  handler<typeof inputSpec._TYPE>(async ({ effects, input, api }) => {
    const url = input.method.value.btcpayUrl.trim().replace(/\/+$/, '')
    // Choosing BTCPay makes the btcpayserver package required (dependencies.ts).
    await store().merge(effects, {
      btcpayBrowserUrl: url,
      btcpayChosen: true,
    })
    if (input.method.selection === 'manual') {
      await api.btcpayManual({
        btcpay_url: url,
        api_key: input.method.value.apiKey.trim(),
        store_id: input.method.value.storeId.trim(),
      })
      const s = await api.btcpayStatus()
      if (s.connected) await clearConnectTask(effects)
      return done(
        s.connected
          ? i18n('BTCPay connected')
          : i18n('BTCPay not connected yet'),
        s.connected
          ? i18n('Keysat takes payments in this store now.')
          : i18n('Run "Check BTCPay connection" for what is missing.'),
        btcpayMembers(s),
      )
    }
    try {
      const auth = await api.btcpayConnect(url)
      return done(
        i18n('Open this link to authorize Keysat'),
        i18n(
          'Open the link in your browser, sign in to BTCPay if asked, and approve. BTCPay then hands Keysat its own key; run "Check BTCPay connection" to see the result.',
        ),
        [
          value(i18n('Authorize link'), auth.authorize_url, { qr: true }),
          value(i18n('Link expires'), when(auth.expires_at), {
            copyable: false,
          }),
        ],
      )
    } catch (e) {
      if (e instanceof KeysatError && e.code === 'unreachable') {
        return done(
          i18n('BTCPay address saved'),
          i18n(
            'Keysat is not running, so there is no link to open yet. Start Keysat, then run "Check BTCPay connection": it gives you the link to authorize Keysat in BTCPay.',
          ),
          [value(i18n('BTCPay address'), url)],
        )
      }
      throw e
    }
  }),
)
