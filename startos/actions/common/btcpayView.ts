import { i18n } from '../../i18n'
import { BtcpayStatus } from '../../api'
import { Member, group, table, value, when } from '../../results'

/** BTCPay connection state as the operator reads it. */
export function btcpayMembers(s: BtcpayStatus): Member[] {
  const members: Member[] = [
    value(i18n('Connected'), s.connected ? 'yes' : 'no', { copyable: false }),
    value(i18n('BTCPay address'), s.btcpay_url),
    value(
      i18n('Store'),
      s.store_name ? `${s.store_name} (${s.store_id})` : s.store_id,
      { copyable: false },
    ),
    value(i18n('Store id'), s.store_id),
    value(i18n('Webhook id'), s.webhook_id),
    value(i18n('Last payment notice'), s.last_webhook_at ?? i18n('none yet'), {
      copyable: false,
    }),
    value(i18n('Last error'), s.last_error, { copyable: false }),
  ]
  if (s.reconciliation) {
    members.push(
      group(
        i18n('Reconciliation'),
        [
          value(
            i18n('Last run'),
            when(s.reconciliation.last_run_at) ?? i18n('not yet'),
            {
              copyable: false,
            },
          ),
          value(i18n('Last error'), s.reconciliation.last_error, {
            copyable: false,
          }),
          value(
            i18n('Invoices still pending'),
            s.reconciliation.pending_invoices ?? 0,
            { copyable: false },
          ),
        ],
        i18n(
          'Keysat asks BTCPay about every unpaid invoice, so a missed webhook never loses a sale.',
        ),
      ),
    )
  }
  if (s.stores?.length) {
    members.push(
      group(
        i18n('Stores to choose from'),
        table(s.stores, (st) => st.name, [
          [i18n('Store id'), (st) => st.id, true],
        ]),
        i18n(
          'The key BTCPay gave Keysat can reach several stores: choose one with "Choose BTCPay store".',
        ),
      ),
    )
  }
  return members
}
