/**
 * manifest.yaml and startos/ must not drift: every fact the YAML states is
 * compared with what the package code actually does.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { YAML } from '@start9labs/start-sdk'
import { actions } from '../actions'
import { btcpayRequirement } from '../dependencies'
import { keysatEnv } from '../env'
import { manifest } from '../index'
import { interfaceSpecs } from '../interfaces'
import { manifest as sdkManifest } from '../manifest'
import { btcpay } from '../neighbours'
import { backupExcludes } from '../snapshotFiles'
import {
  apiPort,
  connectBtcpayTask,
  connectBtcpayTaskId,
  dataDir,
  healthCheckId,
  healthCheckName,
  healthPath,
  snapshotSubpath,
} from '../utils'
import { recordingEffects, repoRoot } from './harness'

type Declared = {
  id: string
  title: string
  version: string
  license: string
  package_repo: string
  upstream_repo: string
  marketing_url: string
  donation_url: string | null
  description: { short: string; long: string }
  release_notes: string
  images: Record<string, { dockerfile: string; arch: string[] }>
  volumes: Record<string, { mountpoint: string }>
  interfaces: Record<
    string,
    {
      name: string
      type: string
      port: number
      path: string
      description: string
    }
  >
  environment: Record<string, string>
  dependencies: Record<
    string,
    {
      kind: string
      version: string
      optional: boolean
      required_when: string
      health_checks: string[]
      description: string
      title: string
    }
  >
  health_checks: Record<string, { name: string; port: number; path: string }>
  backups: { volumes: string[]; snapshot: string; exclude: string[] }
  tasks: Record<string, { action: string; severity: string; on: string[] }>
  actions: {
    id: string
    name: string
    group: string
    input: boolean
    allowed: string
  }[]
}

/** The English text of a locale string. */
function en(s: string | Record<string, string> | null): string | null {
  return s === null || typeof s === 'string' ? s : s.en_US
}

const declared = YAML.parse(
  readFileSync(join(repoRoot, 'manifest.yaml'), 'utf8'),
) as Declared

test('identity, description and version', () => {
  assert.equal(declared.id, sdkManifest.id)
  assert.equal(declared.title, sdkManifest.title)
  assert.equal(declared.license, sdkManifest.license)
  assert.equal(declared.package_repo, sdkManifest.packageRepo)
  assert.equal(declared.upstream_repo, sdkManifest.upstreamRepo)
  assert.equal(declared.marketing_url, sdkManifest.marketingUrl)
  assert.equal(declared.donation_url, sdkManifest.donationUrl)
  // The marketplace texts are by locale; the YAML states the English ones.
  assert.deepEqual(declared.description, {
    short: en(sdkManifest.description.short),
    long: en(sdkManifest.description.long),
  })
  assert.equal(
    declared.version,
    manifest.version,
    'the first entry of startos/versions',
  )
  assert.equal(declared.release_notes, en(manifest.releaseNotes))
  const cargo = readFileSync(join(repoRoot, 'Cargo.toml'), 'utf8')
  const daemon = /\[workspace\.package\][^[]*?\nversion\s*=\s*"([^"]+)"/.exec(
    cargo,
  )?.[1]
  assert.equal(
    declared.version.split(':')[0],
    daemon,
    "the package carries the daemon's version",
  )
})

test('images: the top-level Dockerfile, for x86_64 and aarch64', () => {
  assert.deepEqual(
    Object.keys(declared.images),
    Object.keys(sdkManifest.images),
  )
  for (const [id, img] of Object.entries(declared.images)) {
    const source =
      sdkManifest.images[id as keyof typeof sdkManifest.images].source
    assert.ok(typeof source === 'object' && 'dockerBuild' in source)
    assert.equal(source.dockerBuild.dockerfile, img.dockerfile)
    assert.deepEqual(sdkManifest.images[id as 'main'].arch, img.arch)
    assert.ok(
      existsSync(join(repoRoot, img.dockerfile)),
      `${img.dockerfile} exists`,
    )
  }
})

test('volumes and the environment main.ts gives the daemon', () => {
  assert.deepEqual(Object.keys(declared.volumes), [...sdkManifest.volumes])
  assert.equal(declared.volumes.main.mountpoint, dataDir)
  const everything = keysatEnv({
    adminKey: 'k'.repeat(20),
    publicUrl: 'https://x',
    btcpayUrl: 'http://10.0.3.1:49152',
    webhookBaseUrl: 'http://10.0.3.1:49180',
    demo: true,
    proxy: '10.0.3.1',
  })
  assert.deepEqual(
    Object.keys(declared.environment).sort(),
    Object.keys(everything)
      .filter((k) => k !== 'RUST_LOG')
      .sort(),
  )
  for (const k of ['KEYSAT_BIND', 'KEYSAT_ADMIN_BIND', 'KEYSAT_DATA_DIR']) {
    assert.equal(declared.environment[k], everything[k], k)
  }
  assert.equal(everything.KEYSAT_DEMO, 'true')
  assert.match(declared.environment.KEYSAT_DEMO, /^true while demo mode is on/)
  const b = declared.environment.KEYSAT_BTCPAY_URL
  for (const fact of [
    `package ${btcpay.packageId}`,
    `host ${btcpay.hostId}`,
    `port ${btcpay.internalPort}`,
    'plaintext',
  ]) {
    assert.ok(b.includes(fact), `KEYSAT_BTCPAY_URL's description says ${fact}`)
  }
  assert.ok(
    declared.environment.KEYSAT_WEBHOOK_BASE_URL.includes(`port ${apiPort}`),
  )
  const bare = keysatEnv({
    adminKey: 'k'.repeat(20),
    publicUrl: null,
    btcpayUrl: null,
    webhookBaseUrl: null,
    demo: false,
    proxy: null,
  })
  for (const k of [
    'KEYSAT_PUBLIC_URL',
    'KEYSAT_BTCPAY_URL',
    'KEYSAT_WEBHOOK_BASE_URL',
    'KEYSAT_DEMO',
    'KEYSAT_TRUSTED_PROXIES',
  ]) {
    assert.equal(
      bare[k],
      undefined,
      `${k} is unset when there is nothing to say`,
    )
  }
})

test('interfaces', () => {
  assert.deepEqual(
    Object.keys(declared.interfaces),
    interfaceSpecs.map((i) => i.id),
  )
  for (const spec of interfaceSpecs) {
    const d = declared.interfaces[spec.id]
    assert.equal(d.name, spec.name)
    assert.equal(d.type, spec.type)
    assert.equal(d.path, spec.path)
    assert.equal(d.description, spec.description)
    assert.equal(d.port, apiPort)
  }
})

test('dependencies', () => {
  assert.deepEqual(
    Object.keys(declared.dependencies),
    Object.keys(sdkManifest.dependencies),
  )
  const d = declared.dependencies[btcpay.packageId]
  const m = sdkManifest.dependencies[btcpay.packageId]
  assert.equal(d.kind, btcpayRequirement.kind)
  assert.equal(d.version, btcpayRequirement.versionRange)
  assert.deepEqual(d.health_checks, btcpayRequirement.healthChecks)
  assert.equal(d.optional, m.optional)
  assert.equal(m.optional, true, 'required at run time, once chosen')
  assert.equal(d.required_when, 'BTCPay is chosen')
  assert.equal(d.description, en(m.description))
  assert.ok('metadata' in m, 'the marketplace shows its title and icon')
  assert.equal(d.title, en(m.metadata.title))
})

test('health check, backups and tasks', () => {
  assert.deepEqual(declared.health_checks, {
    [healthCheckId]: { name: healthCheckName, port: apiPort, path: healthPath },
  })
  assert.deepEqual(declared.backups.volumes, ['main'])
  assert.equal(declared.backups.snapshot, snapshotSubpath)
  assert.deepEqual(declared.backups.exclude, backupExcludes)
  assert.deepEqual(declared.tasks, {
    'connect-btcpay': {
      action: connectBtcpayTaskId.split(':')[1],
      severity: connectBtcpayTask.severity,
      on: [...connectBtcpayTask.on],
    },
  })
})

test('actions: the same list, names, groups, inputs and allowed states', async () => {
  const rec = recordingEffects()
  await actions.init(rec.effects)
  assert.deepEqual(
    rec.exported.map(({ id, metadata: m }) => ({
      id,
      name: m.name,
      group: m.group,
      input: m.hasInput,
      allowed: m.allowedStatuses,
    })),
    declared.actions,
  )
})
