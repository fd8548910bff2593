import { BtcpayStatus } from '../api'
import { Member, group, table, value, when } from '../results'

/** BTCPay connection state as the operator reads it. */
export function btcpayMembers(s: BtcpayStatus): Member[] {
  const members: Member[] = [
    value('Connected', s.connected ? 'yes' : 'no', { copyable: false }),
    value('BTCPay address', s.btcpay_url),
    value(
      'Store',
      s.store_name ? `${s.store_name} (${s.store_id})` : s.store_id,
      { copyable: false },
    ),
    value('Store id', s.store_id),
    value('Webhook id', s.webhook_id),
    value('Last payment notice', s.last_webhook_at ?? 'none yet', {
      copyable: false,
    }),
    value('Last error', s.last_error, { copyable: false }),
  ]
  if (s.reconciliation) {
    members.push(
      group(
        'Reconciliation',
        [
          value('Last run', when(s.reconciliation.last_run_at) ?? 'not yet', {
            copyable: false,
          }),
          value('Last error', s.reconciliation.last_error, { copyable: false }),
          value(
            'Invoices still pending',
            s.reconciliation.pending_invoices ?? 0,
            { copyable: false },
          ),
        ],
        'Keysat asks BTCPay about every unpaid invoice, so a missed webhook never loses a sale.',
      ),
    )
  }
  if (s.stores?.length) {
    members.push(
      group(
        'Stores to choose from',
        table(s.stores, (st) => st.name, [['Store id', (st) => st.id, true]]),
        'The key BTCPay gave Keysat can reach several stores: choose one with "Choose BTCPay store".',
      ),
    )
  }
  return members
}
