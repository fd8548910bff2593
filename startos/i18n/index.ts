/**
 * Every string the operator sees goes through `i18n` (the SDK's setupI18n):
 * the English text is the key, dictionaries/default.ts numbers them, and a
 * translation maps those numbers to its own text. Run `npm run i18n` after
 * adding or changing a string; startos/test/i18n.test.ts fails until then.
 */
import { setupI18n } from '@start9labs/start-sdk'
import defaultDict, { DEFAULT_LANG, I18nKey } from './dictionaries/default'
import translations from './dictionaries/translations'

const translate = setupI18n(defaultDict, translations, DEFAULT_LANG)

/**
 * The locale numbers are written in: LANG's, when Intl knows it. The SDK
 * formats numbers with LANG as it is, and a LANG such as `C.UTF-8` (common
 * in containers) makes Intl throw, so numbers are formatted here.
 */
function numberLocale(): string {
  const lang = (process.env.LANG ?? '').replace(/\..*$/, '').replace('_', '-')
  try {
    return Intl.NumberFormat.supportedLocalesOf([lang]).length ? lang : 'en-US'
  } catch {
    return 'en-US'
  }
}

const numbers = new Intl.NumberFormat(numberLocale())

type Param = string | number | Date

/**
 * The text of `key` in the operator's language, with `${name}` filled from
 * `params`. Values are inserted literally (a `$` in a buyer's name stays a
 * `$`: the SDK inserts with String.replace, whose `$&`-patterns are escaped).
 */
export function i18n(key: I18nKey, params?: Record<string, Param>): string {
  if (!params) return translate(key)
  const safe: Record<string, Param> = {}
  for (const [k, v] of Object.entries(params)) {
    const text = typeof v === 'number' ? numbers.format(v) : v
    safe[k] = typeof text === 'string' ? text.replace(/\$/g, '$$$$') : text
  }
  return translate(key, safe)
}

export type { I18nKey } from './dictionaries/default'
