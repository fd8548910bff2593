import type { Product } from '../../api'
import { i18n } from '../../i18n'
import { group, sats, value, yesNo } from '../../results'
import { buyLink } from './fields'

/** A product as the result of an action that created or changed it. */
export function productMembers(p: Product, publicUrl: string) {
  return [
    value(i18n('Slug'), p.slug),
    value(i18n('Buy link'), buyLink(publicUrl, p.slug), {
      description: i18n('Share it once the product has a tier.'),
    }),
    value(i18n('Product id'), p.id),
    value(i18n('Name'), p.name, { copyable: false }),
    value(i18n('Price'), sats(p.price_sats), { copyable: false }),
    value(i18n('On sale'), yesNo(p.active), { copyable: false }),
    value(i18n('Homepage'), p.homepage_url),
    value(i18n('Download link'), p.download_url),
    value(i18n('What to do with the key'), p.key_instructions, {
      copyable: false,
    }),
    group(
      i18n('Entitlements'),
      p.entitlements_catalog.map((e) => value(e.name, e.slug)),
    ),
  ]
}
