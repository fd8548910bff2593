import { Invoice, InvoiceDetails } from '../../api'
import { i18n } from '../../i18n'
import { Column, Member, fiat, group, sats, value, yesNo } from '../../results'

/** What an invoice asked: fiat as charged, else sats. */
export function asked(i: Invoice): string {
  return i.price_amount
    ? `${i.price_amount} ${i.price_currency}`
    : sats(i.amount_sats)
}

export const saleColumns: Column<Invoice>[] = [
  [i18n('Invoice id'), (i) => i.invoice_id, true],
  [i18n('Status'), (i) => i.status],
  [i18n('Product'), (i) => i.product_slug],
  [i18n('Tier'), (i) => i.policy_slug],
  [i18n('Amount'), asked],
  [i18n('Discount'), (i) => (i.discount_sats ? sats(i.discount_sats) : null)],
  [i18n('Code'), (i) => i.code],
  [i18n('Buyer e-mail'), (i) => i.buyer_email, true],
  [i18n('Buyer npub'), (i) => i.buyer_npub, true],
  [i18n('Provider'), (i) => i.provider],
  [i18n('Created'), (i) => i.created_at],
  [i18n('Settled'), (i) => i.settled_at],
  [i18n('License id'), (i) => i.license_id, true],
]

export function saleName(i: Invoice): string {
  return `${i.created_at.slice(0, 16).replace('T', ' ')} — ${i.product_slug ?? ''}/${i.policy_slug ?? ''}, ${i.status}`
}

/** An invoice in full, with the provider's view of it. */
export function saleMembers(i: InvoiceDetails): Member[] {
  const plain = { copyable: false }
  const members: Member[] = [
    value(i18n('Invoice id'), i.invoice_id),
    value(
      i18n('Status'),
      i.processing
        ? i18n('${status} (payment confirming)', { status: i.status })
        : i.status,
      plain,
    ),
    value(i18n('Product'), i.product_name ?? i.product_slug, plain),
    value(i18n('Tier'), i.policy_name ?? i.policy_slug, plain),
    value(i18n('Amount'), asked(i), plain),
    value(i18n('Price before discount'), sats(i.base_price_sats), plain),
    value(i18n('Discount'), sats(i.discount_sats), plain),
    value(i18n('Code'), i.code, plain),
    value(i18n('Buyer e-mail'), i.buyer_email),
    value(i18n('Buyer npub'), i.buyer_npub),
    value(i18n('Buyer note'), i.buyer_note, plain),
    value(i18n('Provider'), i.provider, plain),
    value(i18n('Provider invoice id'), i.provider_invoice_id),
    value(i18n('Created'), i.created_at, plain),
    value(i18n('Settled'), i.settled_at, plain),
    value(i18n('Closed'), i.closed_at, plain),
    value(i18n('License id'), i.license_id),
  ]
  if (i.mismatch) {
    members.push(value(i18n('Why it did not settle'), i.mismatch, plain))
  }
  if (i.provider_invoice) {
    const p = i.provider_invoice
    members.push(
      group(i18n('At the payment provider'), [
        value(i18n('State'), p.state, plain),
        value(
          i18n('Charged'),
          p.charged_amount
            ? fiat([
                {
                  amount: p.charged_amount,
                  currency: p.charged_currency ?? '',
                },
              ])
            : null,
          plain,
        ),
        value(i18n('Could not ask'), p.error, plain),
      ]),
    )
  }
  members.push(
    group(
      i18n('Payment notices received'),
      i.deliveries.map((d) =>
        value(d.event_type, d.received_at, { copyable: false }),
      ),
    ),
  )
  if (i.license) {
    members.push(
      value(
        i18n('License active'),
        yesNo(i.license.status === 'active'),
        plain,
      ),
    )
  }
  return members
}
