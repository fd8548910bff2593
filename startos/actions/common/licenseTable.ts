import { License } from '../../api'
import { i18n } from '../../i18n'
import { Column, table } from '../../results'

const columns: Column<License>[] = [
  [i18n('License id'), (l) => l.license_id, true],
  [i18n('Status'), (l) => l.status],
  [i18n('Product'), (l) => l.product_slug],
  [i18n('Tier'), (l) => l.policy_slug],
  [i18n('Buyer e-mail'), (l) => l.buyer_email, true],
  [i18n('Buyer npub'), (l) => l.buyer_npub, true],
  [i18n('Issued'), (l) => l.issued_at],
  [i18n('Expires'), (l) => l.expires_at ?? i18n('never')],
  [i18n('Entitlements'), (l) => l.entitlements.join(', ') || i18n('none')],
  [i18n('License key'), (l) => l.license_key, true],
  [i18n('Note'), (l) => l.note],
]

/** Licenses as a table, one row each, titled by buyer and status. */
export function licenseTable(found: License[]) {
  return table(
    found,
    (l) => `${l.buyer_email ?? l.buyer_npub ?? l.license_id} — ${l.status}`,
    columns,
  )
}
