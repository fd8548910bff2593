/**
 * Test harness: starts the real `keysat` binary on free ports over a fresh
 * data directory, points the package's API client and store at it, and runs
 * actions the way StartOS does (getInput, then run) with recording effects.
 */
import { ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import assert from 'node:assert/strict'
import { T } from '@start9labs/start-sdk'
import defaultDict from '../i18n/dictionaries/default'
import { useListeners } from '../api'
import { keysatEnv } from '../env'
import { useStoreAt } from '../fileModels/store.json'
import { keysatBridgePort } from './hosts'

export const repoRoot = resolve(__dirname, '..', '..')

/** The address StartOS's gateway has on the bridge (getOsIp). */
export const osIp = '10.0.3.1'

/** The debug binary `npm test` builds first (or KEYSAT_BIN). */
export function keysatBinary(): string {
  const bin =
    process.env.KEYSAT_BIN ?? join(repoRoot, 'target', 'debug', 'keysat')
  if (!existsSync(bin)) {
    throw new Error(
      `no keysat binary at ${bin}: run \`cargo build -p keysat\` (npm test does)`,
    )
  }
  return bin
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer()
    s.once('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => ok(port))
    })
  })
}

export type Daemon = {
  publicUrl: string
  adminUrl: string
  adminKey: string
  dataDir: string
  /** An authorised admin call, straight to the daemon (to check its state). */
  admin: (
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; body: any }>
  /** A public call (validate, machines). */
  call: (
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; body: any }>
  /** Stops the daemon (SIGTERM) and waits for it. */
  stop: () => Promise<void>
  /** Stops it and removes its data directory. */
  dispose: () => Promise<void>
  output: () => string
}

async function json(url: string, init: RequestInit) {
  const res = await fetch(url, init)
  const text = await res.text()
  let body: unknown = null
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    body = text
  }
  return { status: res.status, body: body as any }
}

/**
 * Keysat's own bridge address in the tests (what BTCPay's container would
 * call): the daemon registers BTCPay's webhook under it.
 */
export const keysatBridgeUrl = `http://${osIp}:${keysatBridgePort}`

/**
 * `keysat serve` with the environment main.ts gives it on StartOS, except for
 * the listeners (free ports) and the data directory (a temporary one).
 */
export async function startDaemon(
  opts: {
    dataDir?: string
    adminKey?: string
    btcpayUrl?: string
    /** More variables, as main.ts would set them (KEYSAT_DEMO, …). */
    env?: Record<string, string>
  } = {},
): Promise<Daemon> {
  const dataDir =
    opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'keysat-startos-')))
  const adminKey =
    opts.adminKey ??
    `ksa_test_${Math.random().toString(36).slice(2)}_0123456789`
  // Two ports the system had free; the second pick can be the first again
  // (its socket is closed by then), and the daemon refuses one listener twice.
  const pub = await freePort()
  let adm = await freePort()
  while (adm === pub) adm = await freePort()
  const env = {
    ...keysatEnv({
      adminKey,
      publicUrl: null,
      btcpayUrl: opts.btcpayUrl ?? 'http://127.0.0.1:9',
      webhookBaseUrl: keysatBridgeUrl,
      demo: false,
      proxy: osIp,
    }),
    ...opts.env,
    KEYSAT_BIND: `127.0.0.1:${pub}`,
    KEYSAT_ADMIN_BIND: `127.0.0.1:${adm}`,
    KEYSAT_DATA_DIR: dataDir,
    // Nothing leaves the machine: Nostr goes to a closed loopback port.
    KEYSAT_NOSTR_RELAYS: 'ws://127.0.0.1:9',
    RUST_LOG: 'warn',
  }
  let out = ''
  const child: ChildProcess = spawn(keysatBinary(), ['serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()))
  const publicUrl = `http://127.0.0.1:${pub}`
  const adminUrl = `http://127.0.0.1:${adm}`
  const deadline = Date.now() + 20_000
  for (;;) {
    try {
      const r = await fetch(`${publicUrl}/healthz`)
      if (r.ok) break
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`keysat did not start:\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  }
  return {
    publicUrl,
    adminUrl,
    adminKey,
    dataDir,
    admin: (method, path, body) =>
      json(`${adminUrl}/v1/admin${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    call: (method, path, body) =>
      json(`${publicUrl}${path}`, {
        method,
        headers:
          body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    stop,
    dispose: async () => {
      await stop()
      await rm(dataDir, { recursive: true, force: true })
    },
    output: () => out,
  }
}

/** Points the package's store (with the admin key) and API client at `d`. */
export async function attach(d: {
  adminUrl: string
  publicUrl: string
  adminKey: string
}) {
  const dir = await mkdtemp(join(tmpdir(), 'keysat-store-'))
  const path = join(dir, 'startos-store.json')
  await writeFile(path, JSON.stringify({ adminApiKey: d.adminKey }))
  useStoreAt(path)
  useListeners({ adminUrl: d.adminUrl, publicUrl: d.publicUrl })
  return {
    storePath: path,
    detach: async () => {
      useStoreAt(null)
      useListeners(null)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Effects that record what an action asks of StartOS. */
export type Recorder = {
  effects: T.Effects
  tasksCreated: T.CreateTaskParams[]
  tasksCleared: string[][]
  exported: { id: string; metadata: T.ActionMetadata }[]
  /** Every setDependencies call: the dependencies declared. */
  dependencies: T.DependencyRequirement[][]
  /** Every getHostInfo call: whose host was asked for. */
  hostQueries: { packageId?: string; hostId: string }[]
}

let eventCounter = 0

/**
 * `hosts`: what getHostInfo answers, keyed `packageId/hostId` (Keysat's own
 * hosts under `keysat/`); any other host is absent (null), as a package
 * that is not installed.
 */
export function recordingEffects(hosts: Record<string, T.Host> = {}): Recorder {
  const r: Omit<Recorder, 'effects'> = {
    tasksCreated: [],
    tasksCleared: [],
    exported: [],
    dependencies: [],
    hostQueries: [],
  }
  const effects = {
    eventId: `test-event-${++eventCounter}`,
    isInContext: true,
    child: () => effects,
    action: {
      export: async (o: { id: string; metadata: T.ActionMetadata }) => {
        r.exported.push(o)
        return null
      },
      createTask: async (t: T.CreateTaskParams) => {
        r.tasksCreated.push(t)
        return null
      },
      clearTasks: async (o: { only?: string[] }) => {
        r.tasksCleared.push(o.only ?? [])
        return null
      },
      clear: async () => null,
    },
    getHostInfo: async (o: { packageId?: string; hostId: string }) => {
      r.hostQueries.push({ packageId: o.packageId, hostId: o.hostId })
      return hosts[`${o.packageId ?? 'keysat'}/${o.hostId}`] ?? null
    },
    getOsIp: async () => osIp,
    onLeaveContext: () => {},
    setDependencies: async (o: { dependencies: T.DependencyRequirement[] }) => {
      r.dependencies.push(o.dependencies)
      return null
    },
  }
  return { ...r, effects: effects as unknown as T.Effects } as Recorder
}

type AnyAction = {
  id: string
  getInput(o: { effects: T.Effects; prefill: null }): Promise<T.ActionInput>
  run(o: { effects: T.Effects; input: any }): Promise<T.ActionResult | null>
}

/** Runs an action as StartOS does: build its form (getInput), then run it with `input`. */
export async function runAction(
  action: AnyAction,
  input: unknown = {},
  rec = recordingEffects(),
) {
  const form = await action.getInput({ effects: rec.effects, prefill: null })
  const result = await action.run({ effects: rec.effects, input })
  assertTranslated(action.id, form.spec, result)
  return {
    result: result as (T.ActionResult & { version: '1' }) | null,
    form,
    rec,
  }
}

const dictionary = new Set(Object.keys(defaultDict))

/**
 * Every field name and result label went through i18n: in English each is a
 * key of the dictionary (labels made of data, such as a row's title, are
 * groups and are not checked).
 */
function assertTranslated(
  id: string,
  spec: Record<string, unknown>,
  result: T.ActionResult | null,
) {
  const names: string[] = []
  const fields = (s: Record<string, unknown>) => {
    for (const f of Object.values(s) as {
      name?: string
      spec?: Record<string, unknown> | { spec?: Record<string, unknown> }
      variants?: Record<string, { name: string; spec: Record<string, unknown> }>
    }[]) {
      if (f.name) names.push(f.name)
      for (const v of Object.values(f.variants ?? {})) {
        names.push(v.name)
        fields(v.spec)
      }
    }
  }
  fields(spec)
  const labels = (ms: T.ActionResultMember[]) => {
    for (const m of ms) {
      if (m.type === 'single') names.push(m.name)
      else labels(m.value)
    }
  }
  const v = result?.version === '1' ? result.result : null
  if (v?.type === 'group') labels(v.value)
  for (const n of names) {
    assert.ok(
      dictionary.has(n) || /^[^A-Za-z]*$/.test(n) || dataLabel(n),
      `${id}: "${n}" is not in the i18n dictionary`,
    )
  }
}

/** Labels that are data (an entitlement's name, a payment notice's type). */
function dataLabel(n: string): boolean {
  return /^[a-z]+(\.[a-z_]+)+$/.test(n) || extraLabels.has(n)
}

/** Data a test itself shows as labels (entitlement names it chose). */
export const extraLabels = new Set<string>()

/** Runs an action expecting it to fail; returns the error the operator sees. */
export async function failAction(
  action: AnyAction,
  input: unknown = {},
  rec = recordingEffects(),
) {
  try {
    await runAction(action, input, rec)
  } catch (e) {
    return e as Error & { code?: string }
  }
  throw new Error(`action ${action.id} succeeded but was expected to fail`)
}

// ---- reading results ----

type Member = T.ActionResultMember

function members(
  result: { result: T.ActionResultValue | null } | null,
): Member[] {
  const v = result?.result
  return v && v.type === 'group' ? v.value : []
}

/** The value named `name` anywhere in a result (depth-first). */
export function field(
  result: { result: T.ActionResultValue | null } | null,
  name: string,
): Member & { type: 'single' } {
  const walk = (ms: Member[]): (Member & { type: 'single' }) | null => {
    for (const m of ms) {
      if (m.type === 'single' && m.name === name) return m
      if (m.type === 'group') {
        const found = walk(m.value)
        if (found) return found
      }
    }
    return null
  }
  const found = walk(members(result))
  if (!found)
    throw new Error(`no "${name}" in the result: ${JSON.stringify(result)}`)
  return found
}

/** The rows of a table result: each row's cells by column name. */
export function rows(
  result: { result: T.ActionResultValue | null } | null,
): Record<string, string>[] {
  return members(result)
    .filter((m): m is Member & { type: 'group' } => m.type === 'group')
    .map((row) =>
      Object.fromEntries(
        row.value
          .filter((c) => c.type === 'single')
          .map((c) => [c.name, (c as { value: string }).value]),
      ),
    )
}
