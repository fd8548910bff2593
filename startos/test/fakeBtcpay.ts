/**
 * A stand-in BTCPay Server for the package's tests: the Greenfield calls the
 * daemon makes while connecting (licensing-service/src/payment/btcpay/), and
 * the operator's approval on the authorize page, which posts a new API key to
 * Keysat's callback as BTCPay does. Like BTCPay 2.0, the oldest version the
 * package accepts, it serves only the store-scoped webhook routes (the
 * store-less `/api/v1/webhooks/{id}` exists only since 2.4.0).
 */
import { randomBytes } from 'node:crypto'
import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http'

/** The permissions Keysat asks for (connect.rs). */
export const keysatPermissions = [
  'btcpay.store.canviewinvoices',
  'btcpay.store.cancreateinvoice',
  'btcpay.store.canviewstoresettings',
  'btcpay.store.webhooks.canmodifywebhooks',
  'btcpay.store.cancreatepullpayments',
]

export type Store = { id: string; name: string }
export type Webhook = {
  id: string
  storeId: string
  url: string
  secret: string
}

export class FakeBtcpay {
  readonly stores: Store[] = []
  /** API key → its permissions. */
  readonly keys = new Map<string, string[]>()
  readonly webhooks = new Map<string, Webhook>()
  /** Every API answer (checked against the Greenfield spec's response schemas). */
  readonly answers: {
    method: string
    path: string
    status: number
    body: unknown
  }[] = []
  url = ''
  private server: Server | null = null

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) =>
        reply(res, 500, { code: 'error', message: String(e) }),
      )
    })
    await new Promise<void>((ok) =>
      this.server!.listen(0, '127.0.0.1', () => ok()),
    )
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`
    return this
  }

  async stop() {
    await new Promise<void>((ok) => this.server?.close(() => ok()) ?? ok())
  }

  /** A key with Keysat's permissions on these stores. */
  grant(storeIds: string[]): string {
    const key = randomBytes(20).toString('hex')
    this.keys.set(
      key,
      storeIds.flatMap((id) => keysatPermissions.map((p) => `${p}:${id}`)),
    )
    return key
  }

  /**
   * The operator approves on BTCPay's authorize page for `storeIds`: BTCPay
   * creates the key and posts it to the `redirect` of the authorize link.
   * Returns Keysat's answer page.
   */
  async approve(authorizeUrl: string, storeIds: string[]) {
    const redirect = new URL(authorizeUrl).searchParams.get('redirect')
    if (!redirect) throw new Error(`no redirect in ${authorizeUrl}`)
    const res = await fetch(redirect, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ apiKey: this.grant(storeIds) }).toString(),
    })
    return { status: res.status, text: await res.text() }
  }

  private async handle(req: IncomingMessage, res0: ServerResponse) {
    const url = new URL(req.url ?? '/', this.url)
    // Record the answer next to its request.
    const res = {
      writeHead: res0.writeHead.bind(res0),
      end: res0.end.bind(res0),
      record: (status: number, body: unknown) =>
        this.answers.push({
          method: req.method ?? 'GET',
          path: url.pathname,
          status,
          body,
        }),
    } as unknown as ServerResponse
    // A key sees only the stores it was granted, each permission per store
    // (BTCPay's model: `permission:storeId`).
    const may = (perm: string, store: string) =>
      (perms ?? []).some((p) => p === perm || p === `${perm}:${store}`)
    const forbidden = () =>
      reply(res, 403, { code: 'missing-permission', message: 'forbidden' })
    const auth = /^token (\S+)$/.exec(req.headers.authorization ?? '')
    const perms = auth ? this.keys.get(auth[1]) : undefined
    if (!perms) {
      return reply(res, 401, {
        code: 'unauthenticated',
        message: 'Authentication is required for accessing this endpoint',
      })
    }
    const path = url.pathname
    let m: RegExpExecArray | null
    if (req.method === 'GET' && path === '/api/v1/api-keys/current') {
      return reply(res, 200, {
        apiKey: auth![1],
        label: 'Keysat',
        permissions: perms,
      })
    }
    if (req.method === 'GET' && path === '/api/v1/stores') {
      return reply(
        res,
        200,
        this.stores
          .filter((st) =>
            perms.some((p) => !p.includes(':') || p.endsWith(`:${st.id}`)),
          )
          .map(storeJson),
      )
    }
    if (
      req.method === 'GET' &&
      (m = /^\/api\/v1\/stores\/([^/]+)$/.exec(path))
    ) {
      const id = decodeURIComponent(m[1])
      const store = this.stores.find((s) => s.id === id)
      if (!store) {
        return reply(res, 404, {
          code: 'store-not-found',
          message: 'not found',
        })
      }
      if (!may('btcpay.store.canviewstoresettings', id)) return forbidden()
      return reply(res, 200, storeJson(store))
    }
    if (
      req.method === 'POST' &&
      (m = /^\/api\/v1\/stores\/([^/]+)\/webhooks$/.exec(path))
    ) {
      if (
        !may(
          'btcpay.store.webhooks.canmodifywebhooks',
          decodeURIComponent(m[1]),
        )
      ) {
        return forbidden()
      }
      const body = JSON.parse(await read(req)) as {
        url: string
        secret: string
      }
      const id = randomBytes(8).toString('hex')
      this.webhooks.set(id, {
        id,
        storeId: decodeURIComponent(m[1]),
        url: body.url,
        secret: body.secret,
      })
      return reply(res, 200, {
        id,
        url: body.url,
        enabled: true,
        automaticRedelivery: true,
        authorizedEvents: { everything: true, specificEvents: [] },
        secret: body.secret,
      })
    }
    if (
      req.method === 'DELETE' &&
      (m = /^\/api\/v1\/stores\/([^/]+)\/webhooks\/([^/]+)$/.exec(path))
    ) {
      if (
        !may(
          'btcpay.store.webhooks.canmodifywebhooks',
          decodeURIComponent(m[1]),
        )
      ) {
        return forbidden()
      }
      const id = decodeURIComponent(m[2])
      if (this.webhooks.get(id)?.storeId !== decodeURIComponent(m[1])) {
        return reply(res, 404, {
          code: 'webhook-not-found',
          message: 'Webhook not found',
        })
      }
      this.webhooks.delete(id)
      return reply(res, 200, {})
    }
    if (
      req.method === 'GET' &&
      (m = /^\/api\/v1\/stores\/([^/]+)\/invoices$/.exec(path))
    ) {
      if (!may('btcpay.store.canviewinvoices', decodeURIComponent(m[1]))) {
        return forbidden()
      }
      return reply(res, 200, [])
    }
    return reply(res, 404, {
      code: 'not-found',
      message: `no ${req.method} ${path} here`,
    })
  }
}

function storeJson(s: Store) {
  return {
    id: s.id,
    name: s.name,
    website: null,
    defaultCurrency: 'BTC',
    archived: false,
  }
}

function reply(res: ServerResponse, status: number, body: unknown) {
  ;(res as unknown as { record?: (s: number, b: unknown) => void }).record?.(
    status,
    body,
  )
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    let data = ''
    req.on('data', (c) => (data += c))
    req.on('end', () => ok(data))
    req.on('error', fail)
  })
}
