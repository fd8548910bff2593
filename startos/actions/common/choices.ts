/**
 * Select lists filled from the daemon when the form opens (products, tiers,
 * codes, machines, endpoints, deliveries, sales, customers, API keys), and
 * the one field that names a license (licenses are too many for a list).
 */
import { KeysatApi, License } from '../../api'
import { i18n } from '../../i18n'
import { OperatorError, withApi } from '../../operator'
import { sdk } from '../../sdk'
import { uuidPattern } from './fields'

const { Value } = sdk

type Options = {
  /** Offered first, e.g. `{ all: 'Every product' }` for a filter. */
  extra?: Record<string, string>
  /** What the list says, and why the field is disabled, when it is empty. */
  none: string
  why: string
}

/** A select whose choices are read from the daemon as the form opens. */
export function choice(
  name: string,
  description: string | null,
  load: (api: KeysatApi) => Promise<[key: string, label: string][]>,
  o: Options,
) {
  return Value.dynamicSelect(async () => {
    const found = await withApi(load)
    const values = { ...o.extra, ...Object.fromEntries(found) }
    const keys = Object.keys(values)
    if (keys.length === 0) {
      return {
        name,
        description,
        default: '',
        values: { '': o.none },
        disabled: o.why,
      }
    }
    return { name, description, default: keys[0], values }
  })
}

export function productChoice(
  name = i18n('Product'),
  description: string | null = null,
  extra?: Record<string, string>,
) {
  return choice(
    name,
    description,
    async (api) =>
      (await api.products()).map((p) => [
        p.slug,
        p.active
          ? `${p.name} (${p.slug})`
          : i18n('${name} (${slug}, archived)', { name: p.name, slug: p.slug }),
      ]),
    {
      extra,
      none: i18n('No products yet'),
      why: i18n('Create a product first (action "Create product")'),
    },
  )
}

/** Every tier of every product, as `product/tier`. */
export function tierChoice(
  name = i18n('Tier'),
  description: string | null = null,
) {
  return choice(
    name,
    description,
    async (api) => {
      const out: [string, string][] = []
      for (const p of await api.products()) {
        for (const t of await api.policies(p.slug)) {
          const label = `${p.name} — ${t.name} (${p.slug}/${t.slug})`
          out.push([
            `${p.slug}/${t.slug}`,
            t.archived ? i18n('${label}, archived', { label }) : label,
          ])
        }
      }
      return out
    },
    {
      none: i18n('No tiers yet'),
      why: i18n('Create a tier first (action "Create policy")'),
    },
  )
}

/** `product/tier` of a tier choice, split. */
export function tierOf(key: string): { product: string; tier: string } {
  const [product, tier] = key.split('/')
  return { product, tier }
}

export function codeChoice(name = i18n('Code')) {
  return choice(
    name,
    null,
    async (api) =>
      (await api.discountCodes()).map((c) => [
        c.code,
        `${c.code} (${c.product_slug}, ${c.active ? i18n('active') : i18n('disabled')})`,
      ]),
    {
      none: i18n('No discount codes yet'),
      why: i18n('Create one first (action "Create discount code")'),
    },
  )
}

/** The machines holding a seat now, most recently seen first. */
export function machineChoice(name = i18n('Machine')) {
  return choice(
    name,
    i18n(
      'The machines holding a seat, most recently seen first: host name, product, buyer and fingerprint.',
    ),
    async (api) => {
      const machines = (await api.machines(undefined, 500)).filter(
        (m) => m.active,
      )
      const owners = new Map<string, License>()
      for (const id of new Set(machines.map((m) => m.license_id))) {
        owners.set(id, await api.license(id))
      }
      return machines.map((m) => {
        const l = owners.get(m.license_id)
        const who = l?.buyer_email ?? l?.buyer_npub ?? m.license_id.slice(0, 8)
        return [
          m.id,
          `${m.hostname ?? m.fingerprint.slice(0, 12)} — ${l?.product_slug ?? ''}, ${who} (${m.fingerprint.slice(0, 12)}…)`,
        ]
      })
    },
    {
      none: i18n('No machine holds a seat'),
      why: i18n('Nothing to free: no machine is active.'),
    },
  )
}

export function endpointChoice(
  name = i18n('Endpoint'),
  extra?: Record<string, string>,
) {
  return choice(
    name,
    null,
    async (api) =>
      (await api.webhookEndpoints()).map((e) => [
        e.id,
        `${e.url}${e.active ? '' : i18n(' (paused)')}${e.description ? ` — ${e.description}` : ''}`,
      ]),
    {
      extra,
      none: i18n('No webhook endpoints yet'),
      why: i18n('Register one first (action "Register webhook endpoint")'),
    },
  )
}

/** The latest deliveries: those not delivered first. */
export function deliveryChoice(name = i18n('Delivery')) {
  return choice(
    name,
    i18n('The latest deliveries, those not delivered first.'),
    async (api) => {
      const all = await api.webhookDeliveries({ limit: 100 })
      const order = { dead: 0, pending: 1, delivered: 2 }
      return [...all]
        .sort((a, b) => order[a.state] - order[b.state])
        .map((d) => [
          d.id,
          `${d.event_type} → ${d.endpoint_url} (${d.state}, ${d.created_at})`,
        ])
    },
    {
      none: i18n('No deliveries yet'),
      why: i18n('Nothing has been sent to a webhook endpoint yet.'),
    },
  )
}

/** The latest sales (invoices), newest first. */
export function invoiceChoice(name = i18n('Sale')) {
  return choice(
    name,
    i18n('The 100 latest invoices, newest first.'),
    async (api) =>
      (await api.invoices({ limit: 100 })).map((i) => [
        i.invoice_id,
        `${i.created_at.slice(0, 10)} ${i.product_slug ?? ''}/${i.policy_slug ?? ''} — ${i.status}, ${i.buyer_email ?? i.buyer_npub ?? i18n('no buyer contact')}`,
      ]),
    {
      none: i18n('No sales yet'),
      why: i18n('No invoice has been created yet.'),
    },
  )
}

export function customerChoice(name = i18n('Customer')) {
  return choice(
    name,
    i18n('The customers who bought most recently first.'),
    async (api) =>
      (await api.customers(undefined, 200)).map((c) => [
        c.customer_id,
        i18n('${who} — ${n} sales', {
          who: [...c.emails, ...c.npubs].join(', ') || c.customer_id,
          n: c.sales,
        }),
      ]),
    {
      none: i18n('No customers yet'),
      why: i18n('Nobody has bought yet.'),
    },
  )
}

export function apiKeyChoice(name = i18n('API key')) {
  return choice(
    name,
    null,
    async (api) =>
      (await api.apiKeys())
        .filter((k) => !k.revoked_at)
        .map((k) => [k.id, `${k.name} (${k.prefix}…, ${k.scopes.join(', ')})`]),
    {
      none: i18n('No API keys'),
      why: i18n('Create one first (action "Create API key")'),
    },
  )
}

/** The field naming one license: its id, its key, or its buyer. */
export function licenseField(description?: string) {
  return Value.text({
    name: i18n('License'),
    description:
      description ??
      i18n(
        "The license's id or key, or its buyer's e-mail or npub (when the buyer has one license).",
      ),
    required: true,
    default: null,
    placeholder: 'ada@example.com',
    minLength: 3,
    maxLength: 1000,
  })
}

const uuid = new RegExp(uuidPattern.regex)

/**
 * The license the operator named: by id directly, else the one license a
 * search finds; several or none is a plain error naming them.
 */
export async function resolveLicense(
  api: KeysatApi,
  given: string,
): Promise<License> {
  const q = given.trim()
  if (uuid.test(q)) return api.license(q)
  const found = await api.searchLicenses(q, 20)
  const exact = found.filter(
    (l) =>
      l.license_key === q ||
      l.buyer_email?.toLowerCase() === q.toLowerCase() ||
      l.buyer_npub === q,
  )
  const hits = exact.length ? exact : found
  if (hits.length === 1) return hits[0]
  if (hits.length === 0) {
    throw new OperatorError(
      i18n('No license matches "${q}".', { q }),
      'not_found',
    )
  }
  const list = hits
    .slice(0, 10)
    .map(
      (l) =>
        `${l.license_id} (${l.product_slug}/${l.policy_slug}, ${l.status})`,
    )
    .join('; ')
  throw new OperatorError(
    i18n('${n} licenses match "${q}": give the license id of one: ${list}', {
      n: hits.length,
      q,
      list,
    }),
    'ambiguous',
  )
}
