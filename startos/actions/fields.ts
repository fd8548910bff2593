/**
 * Form fields several actions share, with the daemon's own rules as patterns
 * (licensing-service/src/domain): a slug, a UUID, a discount code, a reason.
 */
import { withApi } from '../operator'
import { sdk } from '../sdk'

const { Value } = sdk

export const slugPattern = {
  regex: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$',
  description: '1 to 64 of a-z, 0-9 and "-", not starting or ending with "-"',
}

export const uuidPattern = {
  regex:
    '^\\s*[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\s*$',
  description: 'an id such as 3f2b8c1e-6a0d-4d4e-9a51-0c7d2e9b1f00',
}

export const codePattern = {
  regex: '^[A-Za-z0-9_-]{4,64}$',
  description: '4 to 64 letters, digits, "-" or "_"',
}

export const emailPattern = {
  regex: '^[^@\\s]+@[^@\\s.][^@\\s]*\\.[^@\\s]*[^@\\s.]$',
  description: 'an e-mail address such as ada@example.com',
}

export const npubPattern = {
  regex:
    '^(npub1[02-9ac-hj-np-z]{58}|NPUB1[02-9AC-HJ-NP-Z]{58}|[0-9a-fA-F]{64})$',
  description: 'an npub1… key or its 64-character hex form',
}

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

export const groups = {
  setup: 'Setup',
  btcpay: 'BTCPay',
  stripe: 'Stripe (cards)',
  catalog: 'Products and tiers',
  codes: 'Discount codes',
  licenses: 'Licenses',
  subscriptions: 'Subscriptions',
  machines: 'Machines',
  webhooks: 'Webhooks',
  audit: 'Audit',
} as const

export function licenseId(description: string) {
  return Value.text({
    name: 'License id',
    description,
    required: true,
    default: null,
    placeholder: '3f2b8c1e-6a0d-4d4e-9a51-0c7d2e9b1f00',
    patterns: [uuidPattern],
  })
}

export function reason(required: boolean, description: string) {
  return Value.text({
    name: 'Reason',
    description,
    required,
    default: null,
    maxLength: 500,
  })
}

/** Trimmed text, or undefined when empty (the daemon treats absent as "not given"). */
export function opt(v: string | null | undefined): string | undefined {
  const t = v?.trim()
  return t ? t : undefined
}

/** A select of the existing products (disabled until there is one). */
export function productChoice(
  name = 'Product',
  description: string | null = null,
) {
  return Value.dynamicSelect(async () => {
    const products = await withApi((api) => api.products())
    if (products.length === 0) {
      return {
        name,
        description,
        default: '',
        values: { '': 'No products yet' },
        disabled: 'Create a product first (action "Create product")',
      }
    }
    return {
      name,
      description,
      default: products[0].slug,
      values: Object.fromEntries(
        products.map((p) => [p.slug, `${p.name} (${p.slug})`]),
      ),
    }
  })
}

/** The buy page of a product (the buyer pages' route, GET /buy/{slug}). */
export function buyLink(publicUrl: string, productSlug: string): string {
  return `${publicUrl}/buy/${encodeURIComponent(productSlug)}`
}
