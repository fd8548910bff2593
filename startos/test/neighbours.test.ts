/**
 * StartOS 0.4 networking: no `.startos` host name anywhere in the
 * repository; the facts about BTCPay's package in startos/neighbours.ts are
 * those of docs/startos/NEIGHBOURS.md; and the package reaches BTCPay, and is
 * reached by it, at bridge addresses, while the operator's browser is given
 * BTCPay's own address.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { connectBtcpay } from '../actions/connectBtcpay'
import { btcpayApiBridge, ownBridge } from '../bridges'
import { daemonEnv } from '../env'
import { btcpay } from '../neighbours'
import { useStoreAt } from '../fileModels/store.json'
import { hostId } from '../utils'
import { recordingEffects, repoRoot } from './harness'
import { bridge, fakeHost, keysatHost, lan, publicDomain } from './hosts'

/**
 * A host name under StartOS 0.3's pseudo-domain: a name, or a template's
 * `}`, then a dot and `startos` (the examples below build such names
 * rather than spell them, so this file passes its own check).
 */
const startosHostName = /[A-Za-z0-9_}-]\.startos\b/

test('no `.startos` host name in any tracked file', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot })
    .toString()
    .split('\0')
    .filter((f) => f && !f.split('/').includes('node_modules'))
  assert.ok(files.length > 100, 'git ls-files lists the repository')
  const found: string[] = []
  for (const f of files) {
    const path = join(repoRoot, f)
    if (!existsSync(path)) continue // deleted in the work tree, not yet staged
    const text = readFileSync(path, 'utf8')
    if (text.includes('\0')) continue
    text.split('\n').forEach((line, i) => {
      if (startosHostName.test(line))
        found.push(`${f}:${i + 1}: ${line.trim()}`)
    })
  }
  assert.deepEqual(found, [], 'StartOS 0.4 resolves no `.startos` names')
})

test('the check itself catches the old names', () => {
  const dotStartos = (before: string, after = '') =>
    `${before}.${'startos'}${after}`
  for (const s of [
    dotStartos('http://keysat', ':8080'),
    dotStartos('btcpayserver'),
    dotStartos('`http://${id}', ':${port}`'),
  ]) {
    assert.match(s, startosHostName, s)
  }
  for (const s of [
    'startos/utils.ts',
    'btcpayserver-startos',
    '<package-id>.startos',
  ]) {
    assert.doesNotMatch(s, startosHostName, s)
  }
})

test("BTCPay's ids, port and health check are NEIGHBOURS.md's, for BTCPay's package 2.4.2:1", async () => {
  const facts = await readFile(
    join(repoRoot, 'docs/startos/NEIGHBOURS.md'),
    'utf8',
  )
  const call =
    /getBridgeAddress\(effects, \{ packageId: '([^']+)', hostId: '([^']+)', internalPort: (\d+), ssl: (true|false) \}\)/.exec(
      facts,
    )
  assert.ok(call, "NEIGHBOURS.md gives the call that reaches BTCPay's API")
  assert.deepEqual(
    {
      packageId: btcpay.packageId,
      hostId: btcpay.hostId,
      internalPort: btcpay.internalPort,
      ssl: btcpay.ssl,
    },
    {
      packageId: call[1],
      hostId: call[2],
      internalPort: Number(call[3]),
      ssl: call[4] === 'true',
    },
  )
  const row = (what: string) => {
    const m = new RegExp(`^\\| ${what}[^|]*\\| (.+) \\|$`, 'm').exec(facts)
    assert.ok(m, `NEIGHBOURS.md's table has "${what}"`)
    return m[1]
  }
  assert.match(row('host id'), new RegExp(`^\`${btcpay.hostId}\``))
  assert.match(
    row('interface id'),
    new RegExp(`^\`${btcpay.interfaceId}\` \\(type \`ui\`\\)`),
  )
  assert.match(
    row('internal port'),
    new RegExp(`^\`${btcpay.internalPort}\`, protocol \`http\``),
  )
  assert.match(
    row('BTCPay version'),
    new RegExp(`package version \`${btcpay.packageVersion}\``),
  )
  assert.match(facts, new RegExp(`\\(id \`${btcpay.packageId}\`\\)`))
  assert.match(
    facts,
    new RegExp(`lists \`healthChecks: \\['${btcpay.healthCheck}'\\]\``),
  )
})

// ---- the bridge addresses, against StartOS stand-ins ----

const btcpayHost = (
  addresses = [
    bridge(49152),
    bridge(49153, true),
    lan('192.168.1.20', 49152),
    lan('192.168.1.20', 49153, true),
  ],
) =>
  fakeHost({
    hostId: btcpay.hostId,
    internalPort: btcpay.internalPort,
    interfaceIds: [btcpay.interfaceId],
    addresses,
  })

const installed = {
  [`${btcpay.packageId}/${btcpay.hostId}`]: btcpayHost(),
  [`keysat/${hostId}`]: keysatHost,
}

test("BTCPay's API: its plaintext bridge address, asked for by its package and host id", async () => {
  const rec = recordingEffects(installed)
  assert.equal(await btcpayApiBridge(rec.effects).once(), '10.0.3.1:49152')
  assert.deepEqual(rec.hostQueries, [
    { packageId: 'btcpayserver', hostId: 'main' },
  ])
  const absent = recordingEffects({ [`keysat/${hostId}`]: keysatHost })
  assert.equal(
    await btcpayApiBridge(absent.effects).once(),
    null,
    'not installed',
  )
})

test("Keysat's own bridge address: its own host, port 8080, plaintext", async () => {
  const rec = recordingEffects(installed)
  assert.equal(await ownBridge(rec.effects).once(), '10.0.3.1:49180')
  assert.deepEqual(rec.hostQueries, [{ packageId: undefined, hostId: 'main' }])
})

describe('with a package store', () => {
  let dir = ''
  let storeFile = ''
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keysat-neighbours-'))
    storeFile = join(dir, 'startos-store.json')
    useStoreAt(storeFile)
  })
  after(async () => {
    useStoreAt(null)
    await rm(dir, { recursive: true, force: true })
  })
  const writeStore = (s: object) =>
    writeFile(
      storeFile,
      JSON.stringify({ adminApiKey: `ksa_${'0'.repeat(64)}`, ...s }),
    )

  test("the daemon's environment: bridge addresses for BTCPay and its webhook, the public domain for buyers", async () => {
    await writeStore({})
    const env = await daemonEnv(recordingEffects(installed).effects)
    assert.equal(env.KEYSAT_BTCPAY_URL, 'http://10.0.3.1:49152')
    assert.equal(env.KEYSAT_WEBHOOK_BASE_URL, 'http://10.0.3.1:49180')
    assert.equal(env.KEYSAT_PUBLIC_URL, 'https://shop.example.com')
    assert.equal(env.KEYSAT_TRUSTED_PROXIES, '10.0.3.1')
    assert.equal(env.KEYSAT_DEMO, undefined)
    assert.doesNotMatch(JSON.stringify(env), startosHostName)

    const withoutBtcpay = await daemonEnv(
      recordingEffects({ [`keysat/${hostId}`]: keysatHost }).effects,
    )
    assert.equal(
      withoutBtcpay.KEYSAT_BTCPAY_URL,
      undefined,
      'no BTCPay package: the daemon calls the address the operator connected',
    )
    assert.equal(withoutBtcpay.KEYSAT_WEBHOOK_BASE_URL, 'http://10.0.3.1:49180')
  })

  test("Connect BTCPay offers the browser BTCPay's own address, never the bridge", async () => {
    await writeStore({})
    const prefill = async (hosts: Parameters<typeof recordingEffects>[0]) => {
      const rec = recordingEffects(hosts)
      const form = await connectBtcpay.getInput({
        effects: rec.effects,
        prefill: null,
      })
      return (
        form.value as { method?: { value: { btcpayUrl: string } } } | null
      )?.method?.value.btcpayUrl
    }
    assert.equal(
      await prefill(installed),
      'https://192.168.1.20:49153',
      'the LAN address, https first',
    )
    assert.equal(
      await prefill({
        [`${btcpay.packageId}/${btcpay.hostId}`]: btcpayHost([
          bridge(49152),
          lan('192.168.1.20', 49152),
          publicDomain('pay.example.com'),
        ]),
      }),
      'https://pay.example.com',
      'a public domain first',
    )
    assert.equal(
      await prefill({
        [`${btcpay.packageId}/${btcpay.hostId}`]: btcpayHost([
          bridge(49152),
          bridge(49153, true),
        ]),
      }),
      undefined,
      'only a bridge address: nothing to offer the browser',
    )
    assert.equal(await prefill({}), undefined, 'BTCPay not installed')
  })
})
