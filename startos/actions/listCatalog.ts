import { Product } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { Member, done, group, sats, table, value, yesNo } from '../results'
import { sdk } from '../sdk'
import { productChoice } from './common/choices'
import { buyLink, groups, metadata } from './common/fields'
import { policyColumns } from './common/policyView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  product: productChoice(i18n('Product'), null, { all: i18n('Every product') }),
})

export const listCatalog = sdk.Action.withInput(
  'list-catalog',
  metadata(
    i18n('List products and tiers'),
    i18n(
      'Your catalogue: each product with its buy link, price, entitlements and every tier.',
    ),
    groups.catalog,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { public_url } = await api.settings()
    const products: Product[] =
      input.product === 'all'
        ? await api.products()
        : [await api.product(input.product)]
    const members: Member[] = []
    for (const p of products) {
      const tiers =
        'policies' in p && Array.isArray(p.policies)
          ? p.policies
          : await api.policies(p.slug)
      members.push(
        group(
          p.active
            ? `${p.name} (${p.slug})`
            : i18n('${name} (${slug}, archived)', {
                name: p.name,
                slug: p.slug,
              }),
          [
            value(i18n('Buy link'), buyLink(public_url, p.slug)),
            value(i18n('Price'), sats(p.price_sats), { copyable: false }),
            value(i18n('On sale'), yesNo(p.active), { copyable: false }),
            value(
              i18n('Entitlements'),
              p.entitlements_catalog
                .map((e) => `${e.name} (${e.slug})`)
                .join(', ') || i18n('none'),
              { copyable: false },
            ),
            ...table(
              tiers,
              (t) => i18n('Tier: ${name}', { name: t.name }),
              policyColumns,
            ),
          ],
          p.description || undefined,
        ),
      )
    }
    return done(
      i18n('Products and tiers'),
      products.length === 0
        ? i18n('No products yet (action "Create product").')
        : null,
      members,
    )
  }),
)
