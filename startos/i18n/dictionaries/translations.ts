import { LangDict } from './default'

/**
 * Translations by locale (es_ES, de_DE, …): each maps the numbers of
 * default.ts to its own text. Keysat ships English only for now.
 */
export default {} satisfies Record<string, LangDict>
