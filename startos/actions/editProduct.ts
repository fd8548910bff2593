import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { productChoice } from './common/choices'
import { entitlementList, linkValue, productLinkFields } from './createProduct'
import { groups, metadata, opt } from './common/fields'
import { productMembers } from './common/productView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  product: productChoice(),
  name: Value.text({
    name: i18n('Name'),
    description: i18n('What buyers see. Leave empty to keep it.'),
    required: false,
    default: null,
    maxLength: 120,
  }),
  description: Value.textarea({
    name: i18n('Description'),
    description: i18n('Leave empty to keep it.'),
    required: false,
    default: null,
    maxLength: 4000,
  }),
  priceSats: Value.number({
    name: i18n('Price'),
    description: i18n(
      'The default price of its tiers (a tier with its own price keeps it). Leave empty to keep it.',
    ),
    required: false,
    default: null,
    integer: true,
    min: 0,
    max: 2_100_000_000_000_000,
    units: i18n('sats'),
  }),
  entitlements: entitlementList(
    i18n(
      'Replaces the entitlement catalogue when you list any; leave the list empty to keep it. An entitlement a tier grants cannot be removed until no tier grants it.',
    ),
  ),
  ...productLinkFields(true),
})

export const editProduct = sdk.Action.withInput(
  'edit-product',
  metadata(
    i18n('Edit product'),
    i18n(
      "Change a product's name, description, price, entitlement catalogue, links or key instructions.",
    ),
    groups.catalog,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const p = await api.patchProduct(input.product, {
      name: opt(input.name),
      description: opt(input.description),
      price_sats: input.priceSats ?? undefined,
      entitlements_catalog: input.entitlements.length
        ? input.entitlements.map((e) => ({
            slug: e.slug.trim(),
            name: e.name.trim(),
          }))
        : undefined,
      homepage_url: linkValue(input.homepageUrl, true),
      download_url: linkValue(input.downloadUrl, true),
      key_instructions: linkValue(input.keyInstructions, true),
    })
    const { public_url } = await api.settings()
    return done(
      i18n('Product "${name}" saved', { name: p.name }),
      null,
      productMembers(p, public_url),
    )
  }),
)
