import { i18n } from './i18n'
/**
 * The one typed client of the daemon's admin API. Every action goes through
 * it; shapes follow licensing-service/src/http/admin/ and http/views.rs.
 * A refusal by the daemon becomes a {@link KeysatError} carrying the daemon's
 * own code and message (its envelope is `{"ok": false, "error", "message"}`).
 */
import { store } from './fileModels/store.json'
import { adminPort, apiPort } from './utils'

// ---- shapes ----

export type Entitlement = { slug: string; name: string; description?: string }

export type Product = {
  id: string
  slug: string
  name: string
  description: string
  price_sats: number
  active: boolean
  entitlements_catalog: Entitlement[]
  /** The product's web page, shown to buyers. */
  homepage_url: string | null
  /** Where buyers download the application ("Download …" on the thank-you page). */
  download_url: string | null
  /** What to do with the key, shown beside it. */
  key_instructions: string | null
  created_at: string
  updated_at: string
}

/** The product's links and key instructions: `null` clears one, absent keeps it. */
export type ProductLinks = {
  homepage_url?: string | null
  download_url?: string | null
  key_instructions?: string | null
}

export type NewProduct = ProductLinks & {
  slug: string
  name: string
  description?: string
  price_sats: number
  entitlements_catalog?: Entitlement[]
}

/** A product patch: absent fields keep their value; `active: false` archives it. */
export type ProductPatch = ProductLinks & {
  name?: string
  description?: string
  price_sats?: number
  active?: boolean
  entitlements_catalog?: Entitlement[]
}

export type ProductDetails = Product & { policies: Policy[] }

export type Policy = {
  id: string
  product_slug: string
  slug: string
  name: string
  description: string
  price_sats: number
  price_amount: string | null
  price_currency: string | null
  duration_seconds: number
  grace_seconds: number
  max_machines: number
  entitlements: string[]
  is_trial: boolean
  public: boolean
  highlighted: boolean
  tier_rank: number | null
  archived: boolean
  is_recurring: boolean
  renewal_period_days: number | null
  renewal_notice_seconds: number
  lease_seconds: number
  self_reset_limit: number
  seat_timeout_seconds: number
  one_trial_per_machine: boolean
}

/** A tier's machine rules (offline leases, self-service frees, floating seats, fair trials). */
export type MachineRules = {
  lease_seconds?: number
  self_reset_limit?: number
  seat_timeout_seconds?: number
  one_trial_per_machine?: boolean
}

/** A tier patch: absent fields keep their value; `null` clears a fiat price or rank. */
export type PolicyPatch = MachineRules & {
  name?: string
  description?: string
  price_sats?: number
  price_amount?: string | null
  price_currency?: string | null
  duration_seconds?: number
  grace_seconds?: number
  max_machines?: number
  entitlements?: string[]
  is_trial?: boolean
  public?: boolean
  highlighted?: boolean
  tier_rank?: number | null
  archived?: boolean
  is_recurring?: boolean
  renewal_notice_seconds?: number
}

export type NewPolicy = MachineRules & {
  slug: string
  name: string
  description?: string
  price_sats?: number
  price_amount?: string
  price_currency?: string
  duration_seconds?: number
  grace_seconds?: number
  max_machines?: number
  entitlements?: string[]
  is_trial?: boolean
  public?: boolean
  highlighted?: boolean
  tier_rank?: number
  is_recurring?: boolean
  renewal_notice_seconds?: number
}

export type CodeKind =
  'percent_off' | 'fixed_sats_off' | 'set_price_sats' | 'free_license'

export type DiscountCode = {
  id: string
  code: string
  product_slug: string
  kind: CodeKind
  value: number | null
  policies: string[]
  max_uses: number | null
  max_uses_per_buyer: number | null
  valid_from: string | null
  valid_until: string | null
  active: boolean
  featured: boolean
  referrer: string | null
  stats: {
    uses: number
    reserved: number
    licenses_issued: number
    sats_attributed: number
    last_used_at: string | null
  }
}

export type NewDiscountCode = {
  code?: string
  product_slug: string
  kind: CodeKind
  value?: number
  policies?: string[]
  max_uses?: number
  max_uses_per_buyer?: number
  valid_from?: string
  valid_until?: string
  featured?: boolean
  referrer?: string
}

/** A code patch: absent fields keep their value; `null` clears a limit or date. */
export type DiscountCodePatch = {
  kind?: CodeKind
  value?: number | null
  policies?: string[]
  max_uses?: number | null
  max_uses_per_buyer?: number | null
  valid_from?: string | null
  valid_until?: string | null
  active?: boolean
  featured?: boolean
  referrer?: string | null
}

export type LicenseStatus = 'active' | 'suspended' | 'revoked'

/** The one license shape of the admin API: issued, listed, searched, shown, changed. */
export type License = {
  license_id: string
  license_key: string
  product_id: string
  product_slug: string | null
  product_name: string | null
  policy_id: string
  policy_slug: string | null
  policy_name: string | null
  status: LicenseStatus
  issued_at: string
  expires_at: string | null
  max_machines: number
  entitlements: string[]
  is_trial: boolean
  buyer_email: string | null
  buyer_npub: string | null
  note: string | null
  source: string
  revoked_reason: string | null
}

export type IssuedLicense = License

export type SubscriptionState =
  'active' | 'notice' | 'past_due' | 'lapsed' | 'canceled'

/** A subscription (a license of a recurring tier), as /v1/admin/subscriptions answers. */
export type Subscription = {
  subscription_id: string
  license_id: string
  product_slug: string | null
  policy_slug: string | null
  policy_name: string | null
  next_policy_slug: string | null
  state: SubscriptionState
  period_seconds: number
  current_period_end: string
  renewal_notice_at: string
  grace_until: string
  renewals: number
  canceled_at: string | null
  canceled_by: string | null
  cancel_reason: string | null
  renew_url: string
}

export type SubscriptionFilter = {
  state?: SubscriptionState
  product?: string
  license_id?: string
  limit?: number
}

/** What a change of tier did: applied at once, a checkout for the buyer, or scheduled for the renewal. */
export type TierChange =
  | { status: 'applied'; license: License }
  | {
      status: 'checkout'
      checkout: {
        invoice_id: string
        checkout_url: string
        amount_sats: number
        price_amount?: string | null
        price_currency?: string | null
      }
    }
  | {
      status: 'scheduled'
      scheduled: {
        license_id: string
        to_policy_slug: string
        effective_at: string
      }
    }

export type LicenseAdjustment = {
  extend_seconds?: number
  expires_at?: string
  never_expires?: boolean
  max_machines?: number
  add_entitlements?: string[]
  remove_entitlements?: string[]
  reason?: string
  notify?: boolean
}

export type NewLicense = {
  product_slug: string
  policy_slug?: string
  buyer_email?: string
  buyer_npub?: string
  note?: string
  fingerprint?: string
}

export type Machine = {
  id: string
  license_id: string
  fingerprint: string
  hostname: string | null
  platform: string | null
  active: boolean
  activated_at: string
  last_seen_at: string
  deactivated_at: string | null
  deactivation_reason: string | null
}

export type LicenseFilter = {
  product?: string
  status?: LicenseStatus
  created_from?: string
  limit?: number
}

export type NostrDelivery = {
  state: string
  recipient_npub: string
  attempts: number
  next_attempt_at: string | null
  last_error: string | null
  event_id: string | null
  relays_accepted: string[]
  queued_at: string
  delivered_at: string | null
}

export type Validation = {
  at: string
  fingerprint: string | null
  client_ip: string | null
  result: string
  count: number
  distinct_addresses: number
}

/** A license with its machines, audit trail, key delivery and validations. */
export type LicenseDetails = License & {
  active_machines: number
  machines: Machine[]
  audit: AuditEntry[]
  nostr_delivery: NostrDelivery | null
  recent_validations: Validation[]
}

/** Everything support looks at: the details, the invoice, every delivery of the key. */
export type LicenseSupport = LicenseDetails & {
  invoice: InvoiceDetails | null
  deliveries: NostrDelivery[]
}

export type SeatsReset = {
  license_id: string
  freed: number
  machines: Machine[]
}

export type Resent = {
  license_id: string
  /** `nostr` or `email`. */
  channel: string
  /** The npub (bech32) or the e-mail address. */
  recipient: string
  recipient_npub: string | null
  queued_at: string
}

/** How a key is sent again; absent: the npub when the license has one, else e-mail. */
export type ResendChannel = 'nostr' | 'email'

export type SmtpSecurity = 'none' | 'starttls' | 'tls'

/** The SMTP settings as the daemon shows them: never the password. */
export type SmtpView = {
  host: string
  port: number
  security: SmtpSecurity
  username: string | null
  password_set: boolean
  from: string
}

/** SMTP settings to store; a password left out keeps the stored one for the same username. */
export type SmtpInput = {
  host: string
  port: number
  security: SmtpSecurity
  username?: string
  password?: string
  from: string
}

export type TestEmailSent = { sent: boolean; to: string; server_reply: string }

export type FiatAmount = { currency: string; amount: string }

export type InvoiceState = 'pending' | 'settled' | 'expired' | 'invalid'

export type Invoice = {
  invoice_id: string
  status: string
  processing: boolean
  provider: string
  provider_invoice_id: string | null
  product_slug: string | null
  product_name: string | null
  policy_slug: string | null
  policy_name: string | null
  amount_sats: number
  base_price_sats: number
  discount_sats: number
  price_amount: string | null
  price_currency: string | null
  code: string | null
  buyer_email: string | null
  buyer_npub: string | null
  buyer_note: string | null
  license_id: string | null
  created_at: string
  updated_at: string
  settled_at: string | null
  closed_at: string | null
}

export type InvoiceDetails = Invoice & {
  provider_invoice: {
    state: string | null
    charged_amount: string | null
    charged_currency: string | null
    error: string | null
  } | null
  deliveries: { delivery_id: string; event_type: string; received_at: string }[]
  mismatch: string | null
  license: License | null
}

export type InvoiceFilter = {
  state?: string
  product?: string
  code?: string
  buyer?: string
  from?: string
  to?: string
  limit?: number
}

export type RevenueLine = {
  key?: string | null
  sales: number
  sats: number
  fiat: FiatAmount[]
  refunded_sats: number
}

export type RevenueGrouping =
  'day' | 'week' | 'month' | 'product' | 'tier' | 'code' | 'provider'

export type Revenue = {
  from: string
  to: string
  group_by: string | null
  totals: RevenueLine
  groups: RevenueLine[]
}

export type Customer = {
  customer_id: string
  emails: string[]
  npubs: string[]
  license_ids: string[]
  sales: number
  total_paid_sats: number
  total_paid_fiat: FiatAmount[]
  first_purchase_at: string
  last_purchase_at: string
}

export type CustomerDetails = Customer & { licenses: License[] }

/** POST /v1/admin/export-links: where to download an export, once. */
export type ExportLink = {
  path: string
  url: string
  file: string
  expires_at: string
}
export type BackupFile = { name: string; path: string; bytes: number }

export type BackupStatus = {
  scheduled: boolean
  hour_utc: number | null
  keep: string
  directory: string
  last: { at: string; name: string; bytes: number } | null
  failing: { at: string; message: string } | null
  next_at: string | null
  files: BackupFile[]
}

export type ServiceStatus = {
  version: string
  database_bytes: number
  licenses: number
  active_machines: number
  pending_invoices: number
  payment_provider: string | null
  backups: BackupStatus
}

export type Stats = {
  licenses: number
  active_machines: number
  validation_log_rows: number
  validation_events_written: number
  validation_events_dropped: number
  rate_limited_addresses_tracked: number
  public_connections_open: number
  public_connections_refused_per_address_cap: number
}

export type ImportRowError = {
  line: number
  field: string | null
  message: string
}

export type ImportReport = {
  dry_run: boolean
  rows: number
  created: number
  already_imported: number
  skipped_expired: number
  ignored_columns: string[]
  errors: ImportRowError[]
  results: {
    line: number
    reference: string
    outcome: string
    license_id: string | null
  }[]
}

export type ApiScope = 'read-only' | 'support' | 'issuer' | 'full'

export type ApiKey = {
  id: string
  name: string
  prefix: string
  scopes: ApiScope[]
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

export type ReconcileReport = {
  skipped: boolean
  checked: number
  settled: number
  closed: number
  error: string | null
}

export type AuditEntry = {
  id: number
  at: string
  actor: string
  action: string
  target_type: string
  target_id: string
  details: unknown
}

export type AuditFilter = {
  action?: string
  target?: string
  target_type?: string
  since?: string
  until?: string
  limit?: number
}

export type Settings = {
  operator_name: string | null
  public_url: string
  public_key_pem: string
  /** Where operator notices go (bech32), if set. */
  operator_npub: string | null
  /** Notice kind → on/off. */
  notifications: Record<string, boolean>
  /** The SMTP server e-mail to buyers goes through; null: e-mail is off. */
  smtp?: SmtpView | null
} & SellerIdentity

/** How buyers reach the seller: on every page and in every message. */
export type SellerIdentity = {
  contact_email: string | null
  contact_npub: string | null
  support_url: string | null
  terms_url: string | null
  refund_policy: string | null
}

/** A settings change: absent fields keep their value; `null` clears. */
export type SettingsChange = Partial<SellerIdentity> & {
  operator_name?: string | null
  operator_npub?: string | null
  notifications?: Record<string, boolean>
  /** null turns e-mail off. */
  smtp?: SmtpInput | null
}

export type NostrStatus = {
  npub: string
  public_key_hex: string
  relays: { url: string; status: string }[]
}

/** A time as the BTCPay endpoints give it: unix seconds (or RFC 3339). */
export type Instant = number | string

export type BtcpayStatus = {
  connected: boolean
  /** `btcpay`, or `simulated` in demo mode. */
  provider?: string | null
  demo?: boolean
  btcpay_url: string | null
  store_id: string | null
  store_name: string | null
  webhook_id: string | null
  connected_at?: Instant | null
  last_webhook_at: Instant | null
  last_error: string | null
  last_error_at?: Instant | null
  /** Non-empty when the operator must choose the store. */
  stores: { id: string; name: string }[]
  reconciliation: {
    last_run_at: Instant | null
    last_error: string | null
    last_checked?: number
    next_attempt_at?: Instant | null
    pending_invoices: number | null
  } | null
}

/** What choosing a store or connecting by hand answers. */
export type BtcpayConnected = {
  connected: boolean
  btcpay_url: string | null
  store_id: string | null
  store_name: string | null
  webhook_id: string | null
}

/** The Stripe connection (`GET /v1/admin/stripe/status`). */
export type StripeStatus = {
  connected: boolean
  livemode: boolean | null
  webhook_id: string | null
  webhook_url: string
  connected_at: Instant | null
  last_webhook_at: Instant | null
  last_error: string | null
  reconciliation: {
    last_run_at: Instant | null
    last_error: string | null
    pending_invoices: number | null
  } | null
}

export type StripeConnected = {
  connected: boolean
  livemode: boolean
  webhook_id: string
  webhook_url: string
  enabled_events: string[]
}

/** A refund (`POST /v1/admin/invoices/{id}/refund`). */
export type Refund = {
  invoice_id: string
  state: 'requested' | 'done'
  provider: string
  provider_refund_id: string | null
  amount: string | null
  currency: string | null
  /** Where the buyer claims a bitcoin refund (a BTCPay pull payment). */
  claim_url: string | null
  reason: string
  revoke: boolean
  source: string
  refunded_at: Instant | null
  license_id: string | null
  license_status: LicenseStatus | null
}

export type BtcpayAuthorization = {
  authorize_url: string
  expires_at: Instant
  callback_url?: string
}

/** What a webhook endpoint can subscribe to (`*`: every type, later ones too). */
export const webhookEventTypes = [
  'license.issued',
  'license.suspended',
  'license.unsuspended',
  'license.revoked',
  'license.expired',
  'machine.activated',
  'machine.deactivated',
  'invoice.settled',
  'invoice.expired',
  'code.redeemed',
  'license.updated',
  'subscription.renewal_due',
  'subscription.renewed',
  'subscription.past_due',
  'subscription.lapsed',
  'subscription.canceled',
  'invoice.refunded',
] as const

export type WebhookEventType = (typeof webhookEventTypes)[number]

export type WebhookEndpoint = {
  id: string
  url: string
  description: string | null
  /** `["*"]` or the subscribed types. */
  events: string[]
  active: boolean
  created_at: string
  updated_at: string
}

/** As listed: with how its deliveries stand. */
export type WebhookEndpointWithCounts = WebhookEndpoint & {
  deliveries: { pending: number; delivered: number; dead: number }
}

/** As registered: the signing secret, shown this once. */
export type NewWebhookEndpointSecret = WebhookEndpoint & {
  secret: string
  secret_note: string
}

export type NewWebhookEndpoint = {
  url: string
  events: (WebhookEventType | '*')[]
  description?: string
  active?: boolean
}

/** An endpoint change; `rotate_secret` answers the new secret, once. */
export type WebhookEndpointPatch = {
  url?: string
  events?: string[]
  description?: string | null
  active?: boolean
  rotate_secret?: boolean
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'dead'

export type WebhookDelivery = {
  id: string
  event_id: string
  event_type: string
  endpoint_id: string
  endpoint_url: string
  state: WebhookDeliveryState
  attempts: number
  next_attempt_at: string | null
  status_code: number | null
  latency_ms: number | null
  error: string | null
  created_at: string
  updated_at: string
  delivered_at: string | null
}

export type WebhookAttempt = {
  at: string
  status_code: number | null
  latency_ms: number
  error: string | null
  manual: boolean
}

export type WebhookDeliveryDetails = WebhookDelivery & {
  log: WebhookAttempt[]
  event?: unknown
}

export type WebhookDeliveryFilter = {
  endpoint_id?: string
  state?: WebhookDeliveryState
  limit?: number
}

// ---- errors ----

/** The daemon said no (or could not be reached): show `message` to the operator. */
export class KeysatError extends Error {
  constructor(
    /** HTTP status, or 0 when the daemon could not be reached. */
    readonly status: number,
    /** The daemon's stable error code (`slug_taken`, `not_found`, …). */
    readonly code: string,
    message: string,
    /** The whole answer, when it says more than the message (an import's report). */
    readonly body: unknown = null,
  ) {
    super(message)
    this.name = 'KeysatError'
  }
}

// ---- the client ----

/** Where the daemon listens and the key to its admin API. */
export type Connection = {
  /** Base URL of the admin listener (`/v1/admin/*`). */
  adminUrl: string
  /** Base URL of the public listener (`/v1/pubkey`, `/healthz`). */
  publicUrl: string
  adminKey: string
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
type Query = Record<string, string | number | undefined>

const seg = encodeURIComponent

export class KeysatApi {
  constructor(
    readonly connection: Connection,
    private readonly timeoutMs = 15_000,
  ) {}

  private async request<T>(
    base: string,
    method: Method,
    path: string,
    opts: { body?: unknown; csv?: string; query?: Query; auth?: boolean } = {},
  ): Promise<T> {
    const url = new URL(path, base)
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v))
    }
    const headers: Record<string, string> = { accept: 'application/json' }
    if (opts.auth !== false) {
      headers.authorization = `Bearer ${this.connection.adminKey}`
    }
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    if (opts.csv !== undefined) headers['content-type'] = 'text/csv'
    let res: Response
    try {
      res = await fetch(url, {
        method,
        headers,
        body:
          opts.csv ??
          (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch {
      throw new KeysatError(
        0,
        'unreachable',
        i18n(
          'Keysat is not answering at ${base} — is the service running? Start it (or wait until its health check passes) and try again.',
          { base },
        ),
      )
    }
    const text = await res.text()
    let body: unknown = null
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      body = null
    }
    if (!res.ok) {
      const env = body as { error?: unknown; message?: unknown } | null
      if (env && typeof env.message === 'string') {
        throw new KeysatError(
          res.status,
          typeof env.error === 'string' ? env.error : 'error',
          env.message,
          body,
        )
      }
      throw new KeysatError(
        res.status,
        'http_error',
        i18n('Keysat answered HTTP ${status} to ${method} ${pathname}', {
          status: res.status,
          method,
          pathname: url.pathname,
        }),
      )
    }
    return body as T
  }

  private admin<T>(
    method: Method,
    path: string,
    opts?: { body?: unknown; csv?: string; query?: Query },
  ) {
    return this.request<T>(
      this.connection.adminUrl,
      method,
      `/v1/admin${path}`,
      opts,
    )
  }

  // settings, notifications and keys
  settings() {
    return this.admin<Settings>('GET', '/settings')
  }
  updateSettings(change: SettingsChange) {
    return this.admin<Settings>('PUT', '/settings', { body: change })
  }
  setOperatorName(name: string | null) {
    return this.updateSettings({ operator_name: name })
  }
  nostr() {
    return this.admin<NostrStatus>('GET', '/nostr')
  }
  setRelays(relays: string[]) {
    return this.admin<NostrStatus>('PUT', '/nostr', { body: { relays } })
  }
  /** The signing public key, as licensed applications fetch it (public listener). */
  async pubkey(): Promise<string> {
    const r = await this.request<{ public_key_pem: string }>(
      this.connection.publicUrl,
      'GET',
      '/v1/pubkey',
      { auth: false },
    )
    return r.public_key_pem
  }
  stats() {
    return this.admin<Stats>('GET', '/stats')
  }
  status() {
    return this.admin<ServiceStatus>('GET', '/status')
  }
  backups() {
    return this.admin<BackupStatus>('GET', '/backups')
  }
  backUpNow() {
    return this.admin<BackupFile>('POST', '/backups')
  }
  /** A one-time link (ten minutes) to an export on the public listener. */
  exportLink(body: { file: string; from?: string; to?: string }) {
    return this.admin<ExportLink>('POST', '/export-links', { body })
  }

  // catalogue
  async products(): Promise<Product[]> {
    return (await this.admin<{ products: Product[] }>('GET', '/products'))
      .products
  }
  product(slug: string) {
    return this.admin<ProductDetails>('GET', `/products/${seg(slug)}`)
  }
  createProduct(p: NewProduct) {
    return this.admin<Product>('POST', '/products', { body: p })
  }
  patchProduct(slug: string, p: ProductPatch) {
    return this.admin<Product>('PATCH', `/products/${seg(slug)}`, { body: p })
  }
  async policies(product: string): Promise<Policy[]> {
    return (
      await this.admin<{ policies: Policy[] }>(
        'GET',
        `/products/${seg(product)}/policies`,
      )
    ).policies
  }
  policy(product: string, policy: string) {
    return this.admin<Policy>(
      'GET',
      `/products/${seg(product)}/policies/${seg(policy)}`,
    )
  }
  createPolicy(product: string, p: NewPolicy) {
    return this.admin<Policy>('POST', `/products/${seg(product)}/policies`, {
      body: p,
    })
  }
  patchPolicy(product: string, policy: string, p: PolicyPatch) {
    return this.admin<Policy>(
      'PATCH',
      `/products/${seg(product)}/policies/${seg(policy)}`,
      { body: p },
    )
  }

  // discount codes
  createDiscountCode(c: NewDiscountCode) {
    return this.admin<DiscountCode>('POST', '/discount-codes', { body: c })
  }
  async discountCodes(product?: string): Promise<DiscountCode[]> {
    return (
      await this.admin<{ discount_codes: DiscountCode[] }>(
        'GET',
        '/discount-codes',
        {
          query: { product },
        },
      )
    ).discount_codes
  }
  discountCode(code: string) {
    return this.admin<DiscountCode>('GET', `/discount-codes/${seg(code)}`)
  }
  patchDiscountCode(code: string, c: DiscountCodePatch) {
    return this.admin<DiscountCode>('PATCH', `/discount-codes/${seg(code)}`, {
      body: c,
    })
  }
  deleteDiscountCode(code: string) {
    return this.admin<{ ok: boolean; deleted: string }>(
      'DELETE',
      `/discount-codes/${seg(code)}`,
    )
  }
  setDiscountCodeActive(code: string, active: boolean) {
    return active
      ? this.admin<DiscountCode>('POST', `/discount-codes/${seg(code)}/enable`)
      : this.admin<DiscountCode>('POST', `/discount-codes/${seg(code)}/disable`)
  }

  // licenses
  issueLicense(l: NewLicense) {
    return this.admin<IssuedLicense>('POST', '/licenses', { body: l })
  }
  async licenses(f: LicenseFilter): Promise<License[]> {
    return (
      await this.admin<{ licenses: License[] }>('GET', '/licenses', {
        query: { ...f },
      })
    ).licenses
  }
  async searchLicenses(q: string, limit?: number): Promise<License[]> {
    return (
      await this.admin<{ licenses: License[] }>('GET', '/licenses/search', {
        query: { q, limit },
      })
    ).licenses
  }
  license(id: string) {
    return this.admin<LicenseDetails>('GET', `/licenses/${seg(id)}`)
  }
  licenseSupport(id: string) {
    return this.admin<LicenseSupport>('GET', `/licenses/${seg(id)}/support`)
  }
  suspendLicense(id: string, reason?: string) {
    return this.admin<License>('POST', `/licenses/${seg(id)}/suspend`, {
      body: reason ? { reason } : {},
    })
  }
  unsuspendLicense(id: string, reason?: string) {
    return this.admin<License>('POST', `/licenses/${seg(id)}/unsuspend`, {
      body: reason ? { reason } : {},
    })
  }
  revokeLicense(id: string, reason: string) {
    return this.admin<License>('POST', `/licenses/${seg(id)}/revoke`, {
      body: { reason },
    })
  }
  resetSeats(id: string, reason?: string) {
    return this.admin<SeatsReset>('POST', `/licenses/${seg(id)}/reset-seats`, {
      body: reason ? { reason } : {},
    })
  }
  resendKey(id: string, channel?: ResendChannel) {
    return this.admin<Resent>('POST', `/licenses/${seg(id)}/resend`, {
      body: channel ? { channel } : {},
    })
  }
  /** Sends a test e-mail now through the stored SMTP settings. */
  sendTestEmail(to: string) {
    return this.admin<TestEmailSent>('POST', '/email/test', { body: { to } })
  }
  /** Checks (dry run) or imports licenses from a CSV. */
  importLicenses(csv: string, dryRun: boolean) {
    return this.admin<ImportReport>('POST', '/import/licenses', {
      csv,
      query: { dry_run: dryRun ? 'true' : 'false' },
    })
  }

  changeTier(
    id: string,
    body: { to_policy_slug: string; skip_payment?: boolean; reason?: string },
  ) {
    return this.admin<TierChange>('POST', `/licenses/${seg(id)}/change-tier`, {
      body,
    })
  }
  adjustLicense(id: string, body: LicenseAdjustment) {
    return this.admin<License>('POST', `/licenses/${seg(id)}/adjust`, { body })
  }

  // subscriptions
  async subscriptions(f: SubscriptionFilter): Promise<Subscription[]> {
    return (
      await this.admin<{ subscriptions: Subscription[] }>(
        'GET',
        '/subscriptions',
        { query: { ...f } },
      )
    ).subscriptions
  }
  cancelSubscription(id: string, reason?: string) {
    return this.admin<Subscription>(
      'POST',
      `/subscriptions/${seg(id)}/cancel`,
      { body: reason ? { reason } : {} },
    )
  }

  // machines
  async machines(licenseId?: string, limit?: number): Promise<Machine[]> {
    return (
      await this.admin<{ machines: Machine[] }>('GET', '/machines', {
        query: { license_id: licenseId, limit },
      })
    ).machines
  }
  deactivateMachine(id: string, reason?: string) {
    return this.admin<Machine>('POST', `/machines/${seg(id)}/deactivate`, {
      body: reason ? { reason } : {},
    })
  }

  // sales and customers
  async invoices(f: InvoiceFilter): Promise<Invoice[]> {
    return (
      await this.admin<{ invoices: Invoice[] }>('GET', '/invoices', {
        query: { ...f },
      })
    ).invoices
  }
  invoice(id: string) {
    return this.admin<InvoiceDetails>('GET', `/invoices/${seg(id)}`)
  }
  revenue(q: { from?: string; to?: string; group_by?: RevenueGrouping }) {
    return this.admin<Revenue>('GET', '/revenue', { query: { ...q } })
  }
  async customers(q?: string, limit?: number): Promise<Customer[]> {
    return (
      await this.admin<{ customers: Customer[] }>('GET', '/customers', {
        query: { q, limit },
      })
    ).customers
  }
  customer(id: string) {
    return this.admin<CustomerDetails>('GET', `/customers/${seg(id)}`)
  }

  // audit log
  async audit(f: AuditFilter): Promise<AuditEntry[]> {
    return (
      await this.admin<{ entries: AuditEntry[] }>('GET', '/audit', {
        query: { ...f },
      })
    ).entries
  }

  // outbound webhooks
  registerWebhookEndpoint(e: NewWebhookEndpoint) {
    return this.admin<NewWebhookEndpointSecret>('POST', '/webhook-endpoints', {
      body: e,
    })
  }
  async webhookEndpoints(): Promise<WebhookEndpointWithCounts[]> {
    return (
      await this.admin<{ endpoints: WebhookEndpointWithCounts[] }>(
        'GET',
        '/webhook-endpoints',
      )
    ).endpoints
  }
  webhookEndpoint(id: string) {
    return this.admin<WebhookEndpointWithCounts>(
      'GET',
      `/webhook-endpoints/${seg(id)}`,
    )
  }
  /** The endpoint after the change; with `secret` when it was rotated. */
  patchWebhookEndpoint(id: string, p: WebhookEndpointPatch) {
    return this.admin<WebhookEndpoint & { secret?: string }>(
      'PATCH',
      `/webhook-endpoints/${seg(id)}`,
      { body: p },
    )
  }
  deleteWebhookEndpoint(id: string) {
    return this.admin<null>('DELETE', `/webhook-endpoints/${seg(id)}`)
  }
  async webhookDeliveries(
    f: WebhookDeliveryFilter,
  ): Promise<WebhookDelivery[]> {
    return (
      await this.admin<{ deliveries: WebhookDelivery[] }>(
        'GET',
        '/webhook-deliveries',
        { query: { ...f } },
      )
    ).deliveries
  }
  webhookDelivery(id: string) {
    return this.admin<WebhookDeliveryDetails>(
      'GET',
      `/webhook-deliveries/${seg(id)}`,
    )
  }
  retryWebhookDelivery(id: string) {
    return this.admin<WebhookDeliveryDetails & { delivered: boolean }>(
      'POST',
      `/webhook-deliveries/${seg(id)}/retry`,
    )
  }

  // API keys
  createApiKey(name: string, scopes: ApiScope[]) {
    return this.admin<ApiKey & { key: string }>('POST', '/api-keys', {
      body: { name, scopes },
    })
  }
  async apiKeys(): Promise<ApiKey[]> {
    return (await this.admin<{ api_keys: ApiKey[] }>('GET', '/api-keys'))
      .api_keys
  }
  revokeApiKey(id: string) {
    return this.admin<ApiKey>('DELETE', `/api-keys/${seg(id)}`)
  }

  // BTCPay
  btcpayConnect(btcpayUrl: string) {
    return this.admin<BtcpayAuthorization>('POST', '/btcpay/connect', {
      body: { btcpay_url: btcpayUrl },
    })
  }
  btcpayStatus() {
    return this.admin<BtcpayStatus>('GET', '/btcpay/status')
  }
  btcpayChooseStore(storeId: string) {
    return this.admin<BtcpayConnected>('POST', '/btcpay/store', {
      body: { store_id: storeId },
    })
  }
  btcpayDisconnect() {
    return this.admin<{ connected: boolean; removed_webhook: boolean }>(
      'POST',
      '/btcpay/disconnect',
    )
  }
  stripeConnect(secretKey: string) {
    return this.admin<StripeConnected>('POST', '/stripe/connect', {
      body: { secret_key: secretKey },
    })
  }
  stripeStatus() {
    return this.admin<StripeStatus>('GET', '/stripe/status')
  }
  stripeDisconnect() {
    return this.admin<{ connected: boolean; removed_webhook: boolean }>(
      'POST',
      '/stripe/disconnect',
    )
  }
  /** Refunds a paid invoice (order number) and, unless `revoke` is false, revokes its license. */
  refundInvoice(invoiceId: string, reason: string, revoke: boolean) {
    return this.admin<Refund>('POST', `/invoices/${seg(invoiceId)}/refund`, {
      body: { reason, revoke },
    })
  }
  btcpayManual(c: { btcpay_url: string; api_key: string; store_id: string }) {
    return this.admin<BtcpayConnected>('POST', '/btcpay/manual', { body: c })
  }
  btcpayReconcile() {
    return this.admin<ReconcileReport>('POST', '/btcpay/reconcile')
  }
  stripeReconcile() {
    return this.admin<ReconcileReport>('POST', '/stripe/reconcile')
  }
}

// ---- how actions reach the daemon ----

let listeners = {
  adminUrl: `http://127.0.0.1:${adminPort}`,
  publicUrl: `http://127.0.0.1:${apiPort}`,
}

/**
 * For the test suite only: talk to a daemon listening elsewhere. `null`
 * restores the package's own listeners.
 */
export function useListeners(
  l: { adminUrl: string; publicUrl: string } | null,
) {
  listeners = l ?? {
    adminUrl: `http://127.0.0.1:${adminPort}`,
    publicUrl: `http://127.0.0.1:${apiPort}`,
  }
}

/** The daemon in this package's container, with the key from the store. */
export async function keysat(): Promise<KeysatApi> {
  const adminKey = await store()
    .read((s) => s.adminApiKey)
    .once()
  if (!adminKey) {
    throw new KeysatError(
      0,
      'no_admin_key',
      i18n(
        'The admin key is missing from the package store; restart the service so it is created again.',
      ),
    )
  }
  return new KeysatApi({ ...listeners, adminKey })
}
