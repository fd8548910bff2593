import { License, LicenseDetails, Machine } from '../../api'
import { i18n } from '../../i18n'
import { Column, Member, group, seats, table, value, when } from '../../results'

/** The fields of a license an operator needs in support. */
export function licenseMembers(l: License): Member[] {
  return [
    value(i18n('License id'), l.license_id),
    value(i18n('Status'), l.status, { copyable: false }),
    value(i18n('Product'), named(l.product_name, l.product_slug), {
      copyable: false,
    }),
    value(i18n('Tier'), named(l.policy_name, l.policy_slug), {
      copyable: false,
    }),
    value(i18n('License key'), l.license_key),
    value(i18n('Buyer e-mail'), l.buyer_email),
    value(i18n('Buyer npub'), l.buyer_npub),
    value(i18n('Issued'), l.issued_at, { copyable: false }),
    value(i18n('Expires'), l.expires_at ?? i18n('never'), { copyable: false }),
    value(i18n('Machines allowed'), seats(l.max_machines), { copyable: false }),
    value(i18n('Entitlements'), l.entitlements.join(', ') || i18n('none'), {
      copyable: false,
    }),
    value(i18n('Source'), l.source, { copyable: false }),
    value(i18n('Note'), l.note, { copyable: false }),
    value(i18n('Revoked because'), l.revoked_reason, { copyable: false }),
  ]
}

/** Machines as a table: active ones say so. */
export const machineColumns: Column<Machine>[] = [
  [i18n('Machine id'), (m) => m.id, true],
  [i18n('License id'), (m) => m.license_id, true],
  [i18n('Active'), (m) => (m.active ? i18n('yes') : i18n('no'))],
  [i18n('Hostname'), (m) => m.hostname],
  [i18n('Platform'), (m) => m.platform],
  [i18n('Fingerprint'), (m) => m.fingerprint, true],
  [i18n('Activated'), (m) => m.activated_at],
  [i18n('Last seen'), (m) => m.last_seen_at],
  [i18n('Deactivated'), (m) => m.deactivated_at],
  [i18n('Why'), (m) => m.deactivation_reason],
]

export function machineName(m: Machine): string {
  return `${m.hostname ?? m.fingerprint.slice(0, 16)} — ${m.active ? i18n('active') : i18n('inactive')}`
}

/** A license with its machines, key delivery, validations and audit trail. */
export function detailsMembers(d: LicenseDetails): Member[] {
  const members = [...licenseMembers(d)]
  members.push(
    group(
      i18n('Machines (${active} active)', { active: d.active_machines }),
      table(d.machines, machineName, machineColumns),
    ),
  )
  if (d.nostr_delivery) {
    const n = d.nostr_delivery
    members.push(
      group(i18n('Key delivery (Nostr)'), [
        value(i18n('State'), n.state, { copyable: false }),
        value(i18n('To'), n.recipient_npub),
        value(i18n('Attempts'), n.attempts, { copyable: false }),
        value(i18n('Last error'), n.last_error, { copyable: false }),
        value(i18n('Delivered'), when(n.delivered_at), { copyable: false }),
      ]),
    )
  }
  members.push(
    group(
      i18n('Recent validations'),
      table(d.recent_validations, (v) => `${v.at} — ${v.result}`, [
        [i18n('When'), (v) => v.at],
        [i18n('Result'), (v) => v.result],
        [i18n('Times'), (v) => v.count],
        [i18n('Fingerprint'), (v) => v.fingerprint, true],
        [i18n('Address'), (v) => v.client_ip],
      ]),
    ),
    group(
      i18n('History'),
      table(d.audit, (e) => `${e.at} ${e.action}`, [
        [i18n('When'), (e) => e.at],
        [i18n('What'), (e) => e.action],
        [i18n('By'), (e) => e.actor],
        [i18n('Details'), (e) => JSON.stringify(e.details)],
      ]),
    ),
  )
  return members
}

/** "Name (slug)", or whichever of them is known. */
export function named(name: string | null, slug: string | null): string | null {
  if (name && slug) return `${name} (${slug})`
  return name ?? slug
}
