import { i18n } from '../i18n'
import { handler, withApi } from '../operator'
import { done, table, value, yesNo } from '../results'
import { sdk } from '../sdk'
import { groups, metadata, npubPattern, opt } from './common/fields'

const { InputSpec, Value } = sdk

/** The notices the daemon sends the operator, as people call them. */
export function noticeLabel(kind: string): string {
  const known: Record<string, string> = {
    sale: i18n('A sale (a license paid for)'),
    free_redemption: i18n('A free license taken with a code'),
    webhook_dead_letter: i18n('A webhook endpoint gave up on a delivery'),
    btcpay_connection_lost: i18n('BTCPay connection lost'),
    btcpay_connected: i18n('BTCPay connected again'),
    backup_failed: i18n('A scheduled backup failed'),
  }
  return known[kind] ?? kind
}

const inputSpec = InputSpec.of({
  npub: Value.text({
    name: i18n('Your npub'),
    description: i18n(
      'Keysat sends you notices as Nostr direct messages to this key. Empty: no notices.',
    ),
    required: false,
    default: null,
    patterns: [npubPattern],
  }),
  notices: Value.dynamicMultiselect(async () => {
    const s = await withApi((api) => api.settings())
    const kinds = Object.keys(s.notifications)
    return {
      name: i18n('Notices'),
      description: i18n('What to tell you about.'),
      default: kinds.filter((k) => s.notifications[k]),
      values: Object.fromEntries(kinds.map((k) => [k, noticeLabel(k)])),
    }
  }),
})

export const notificationSettings = sdk.Action.withInput(
  'notification-settings',
  metadata(
    i18n('Notification settings'),
    i18n(
      'Where Keysat tells you about sales and problems (your npub, by Nostr direct message) and which notices you want.',
    ),
    groups.notifications,
  ),
  inputSpec,
  async () =>
    withApi(async (api) => {
      const s = await api.settings()
      return { npub: s.operator_npub ?? undefined }
    }),
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { notifications: before } = await api.settings()
    const s = await api.updateSettings({
      operator_npub: opt(input.npub) ?? null,
      notifications: Object.fromEntries(
        Object.keys(before).map((k) => [k, input.notices.includes(k)]),
      ),
    })
    return done(
      i18n('Notification settings saved'),
      s.operator_npub
        ? i18n('Notices go to ${npub}.', { npub: s.operator_npub })
        : i18n('No npub is set: Keysat sends you no notices.'),
      [
        value(i18n('Your npub'), s.operator_npub),
        ...table(Object.entries(s.notifications), ([k]) => noticeLabel(k), [
          [i18n('On'), ([, on]) => yesNo(on)],
        ]),
      ],
    )
  }),
)
