import { License } from '../api'
import { Member, value } from '../results'

/** The fields of a license an operator needs in support. */
export function licenseMembers(l: License): Member[] {
  return [
    value('License id', l.license_id),
    value('Status', l.status, { copyable: false }),
    value('Product', named(l.product_name, l.product_slug), {
      copyable: false,
    }),
    value('Tier', named(l.policy_name, l.policy_slug), { copyable: false }),
    value('License key', l.license_key),
    value('Buyer e-mail', l.buyer_email),
    value('Buyer npub', l.buyer_npub),
    value('Issued', l.issued_at, { copyable: false }),
    value('Expires', l.expires_at ?? 'never', { copyable: false }),
    value(
      'Machines allowed',
      l.max_machines === 0 ? 'unlimited' : l.max_machines,
      { copyable: false },
    ),
    value('Entitlements', l.entitlements.join(', ') || 'none', {
      copyable: false,
    }),
    value('Source', l.source, { copyable: false }),
    value('Note', l.note, { copyable: false }),
    value('Revoked because', l.revoked_reason, { copyable: false }),
  ]
}

/** "Name (slug)", or whichever of them is known. */
function named(name: string | null, slug: string | null): string | null {
  if (name && slug) return `${name} (${slug})`
  return name ?? slug
}
