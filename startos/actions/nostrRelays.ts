import { i18n } from '../i18n'
import { handler, withApi } from '../operator'
import { done, table, value } from '../results'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'

const { InputSpec, Value, List } = sdk

const inputSpec = InputSpec.of({
  relays: Value.list(
    List.text(
      {
        name: i18n('Relays'),
        description: i18n(
          "The Nostr relays Keysat sends direct messages through (buyers' keys, your notices).",
        ),
        minLength: 1,
        maxLength: 16,
      },
      {
        placeholder: 'wss://relay.example.com',
        patterns: [
          {
            regex: '^wss?://\\S+$',
            description: i18n('a relay address starting with wss:// or ws://'),
          },
        ],
      },
    ),
  ),
})

export const nostrRelays = sdk.Action.withInput(
  'nostr-relays',
  metadata(
    i18n('Nostr relays'),
    i18n(
      "The relays Keysat publishes its direct messages to, and whether each is connected; shows Keysat's own npub.",
    ),
    groups.notifications,
  ),
  inputSpec,
  async () =>
    withApi(async (api) => ({
      relays: (await api.nostr()).relays.map((r) => r.url),
    })),
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const n = await api.setRelays(input.relays.map((r) => r.trim()))
    return done(i18n('Nostr relays saved'), null, [
      value(i18n("Keysat's npub"), n.npub, {
        description: i18n(
          "Buyers and you receive Keysat's messages from this key.",
        ),
      }),
      ...table(n.relays, (r) => r.url, [[i18n('Status'), (r) => r.status]]),
    ])
  }),
)
