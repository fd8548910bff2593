/**
 * Form fields several actions share, with the daemon's own rules as patterns
 * (licensing-service/src/domain), and the action groups as StartOS shows them.
 */
import { i18n } from '../../i18n'
import { sdk } from '../../sdk'

const { Value } = sdk

export const slugPattern = {
  regex: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$',
  description: i18n(
    '1 to 64 of a-z, 0-9 and "-", not starting or ending with "-"',
  ),
}

export const uuidPattern = {
  regex:
    '^\\s*[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\s*$',
  description: i18n('an id such as 3f2b8c1e-6a0d-4d4e-9a51-0c7d2e9b1f00'),
}

export const codePattern = {
  regex: '^[A-Za-z0-9_-]{4,64}$',
  description: i18n('4 to 64 letters, digits, "-" or "_"'),
}

export const emailPattern = {
  regex: '^[^@\\s]+@[^@\\s.][^@\\s]*\\.[^@\\s]*[^@\\s.]$',
  description: i18n('an e-mail address such as ada@example.com'),
}

export const npubPattern = {
  regex:
    '^(npub1[02-9ac-hj-np-z]{58}|NPUB1[02-9AC-HJ-NP-Z]{58}|[0-9a-fA-F]{64})$',
  description: i18n('an npub1… key or its 64-character hex form'),
}

/** A fiat amount as the daemon takes it: a decimal string. */
export const amountPattern = {
  regex: '^[0-9]{1,12}(\\.[0-9]{1,8})?$',
  description: i18n('a decimal amount such as 19.99'),
}

export const currencyPattern = {
  regex: '^[A-Za-z]{3}$',
  description: i18n('a three-letter currency code such as USD or EUR'),
}

/**
 * The groups, in the order StartOS lists them: it shows the actions of a
 * group together, under the group's name, in the order they are added.
 */
export const groups = {
  setup: i18n('Setup'),
  btcpay: i18n('BTCPay'),
  stripe: i18n('Stripe (cards)'),
  catalog: i18n('Products and tiers'),
  codes: i18n('Discount codes'),
  licenses: i18n('Licenses'),
  subscriptions: i18n('Subscriptions'),
  machines: i18n('Machines'),
  sales: i18n('Sales and customers'),
  notifications: i18n('Notifications'),
  webhooks: i18n('Webhooks'),
  apiKeys: i18n('API keys'),
  data: i18n('Backups and data'),
  audit: i18n('Audit'),
} as const

/** Action metadata: every Keysat action needs the daemon running. */
export function metadata(
  name: string,
  description: string,
  group: string,
  warning: string | null = null,
) {
  return {
    name,
    description,
    warning,
    allowedStatuses: 'only-running' as const,
    group,
    visibility: 'enabled' as const,
  }
}

export function reason(required: boolean, description: string) {
  return Value.text({
    name: i18n('Reason'),
    description,
    required,
    default: null,
    maxLength: 500,
  })
}

/** A switch in an edit form: ✕ no, — keep as it is, ✓ yes (the SDK's tri-state). */
export function keepYesNo(name: string, description: string | null = null) {
  return Value.triState({
    name,
    description:
      (description ? `${description} ` : '') +
      i18n('The middle position keeps it as it is.'),
    default: null,
  })
}

/** A tri-state switch as a patch field (absent when kept). */
export function switched(v: boolean | null): boolean | undefined {
  return v ?? undefined
}

/** Trimmed text, or undefined when empty (the daemon treats absent as "not given"). */
export function opt(v: string | null | undefined): string | undefined {
  const t = v?.trim()
  return t ? t : undefined
}

/** A datetime-local of the form as RFC 3339 UTC, or undefined. */
export function isoTime(v: string | null | undefined): string | undefined {
  return v ? new Date(v).toISOString() : undefined
}

/** The buy page of a product (the buyer pages' route, GET /buy/{slug}). */
export function buyLink(publicUrl: string, productSlug: string): string {
  return `${publicUrl}/buy/${encodeURIComponent(productSlug)}`
}
