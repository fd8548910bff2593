/**
 * i18n: the English dictionary is current (every i18n('…') key has its
 * number, none is stale), and no text for people bypasses i18n.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import defaultDict from '../i18n/dictionaries/default'
import { i18n } from '../i18n'
import { untranslated } from './prose'
import { repoRoot } from './harness'

test('the dictionary is current (npm run i18n)', () => {
  execFileSync(
    'node',
    [join(repoRoot, 'scripts', 'i18n-dictionary.mjs'), '--check'],
    {
      stdio: 'pipe',
    },
  )
  const numbers = Object.values(defaultDict)
  assert.equal(
    new Set(numbers).size,
    numbers.length,
    'each string its own number',
  )
})

test('no text for people outside i18n()', () => {
  assert.deepEqual(untranslated(join(__dirname, '..')), [])
})

test('parameters are filled in', () => {
  assert.equal(i18n('${n} sats', { n: 1_250_000 }), '1,250,000 sats')
  assert.equal(i18n('License ${id}', { id: 'a$&b' }), 'License a$&b')
})
