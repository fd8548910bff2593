import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { groups, metadata, opt, slugPattern } from './common/fields'
import { productMembers } from './common/productView'

const { InputSpec, Value, List } = sdk

/** The entitlement catalogue of a product: slugs and names. */
export function entitlementList(description: string) {
  return Value.list(
    List.obj(
      { name: i18n('Entitlements'), description, maxLength: 255 },
      {
        spec: InputSpec.of({
          slug: Value.text({
            name: i18n('Slug'),
            required: true,
            default: null,
            placeholder: 'pro',
            patterns: [slugPattern],
          }),
          name: Value.text({
            name: i18n('Name'),
            required: true,
            default: null,
            placeholder: 'Pro features',
            maxLength: 120,
          }),
        }),
        displayAs: '{{name}} ({{slug}})',
        uniqueBy: 'slug',
      },
    ),
  )
}

const inputSpec = InputSpec.of({
  slug: Value.text({
    name: i18n('Slug'),
    description: i18n(
      'Permanent short name used in buy links and by your application (e.g. "myapp"). It cannot be changed later.',
    ),
    required: true,
    default: null,
    placeholder: 'myapp',
    patterns: [slugPattern],
  }),
  name: Value.text({
    name: i18n('Name'),
    description: i18n('What buyers see.'),
    required: true,
    default: null,
    placeholder: 'My App',
    maxLength: 120,
  }),
  description: Value.textarea({
    name: i18n('Description'),
    required: false,
    default: null,
    maxLength: 4000,
  }),
  priceSats: Value.number({
    name: i18n('Price'),
    description: i18n(
      'Default price of a license; each tier (policy) can set its own.',
    ),
    required: true,
    default: 50_000,
    integer: true,
    min: 0,
    max: 2_100_000_000_000_000,
    units: i18n('sats'),
  }),
  entitlements: entitlementList(
    i18n(
      'Features a license can unlock (e.g. "pro"); tiers pick from this catalogue and keys carry them.',
    ),
  ),
})

export const createProduct = sdk.Action.withInput(
  'create-product',
  metadata(
    i18n('Create product'),
    i18n('A product you sell licenses for, with its entitlement catalogue.'),
    groups.catalog,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const p = await api.createProduct({
      slug: input.slug.trim(),
      name: input.name.trim(),
      description: opt(input.description),
      price_sats: input.priceSats,
      entitlements_catalog: input.entitlements.map((e) => ({
        slug: e.slug.trim(),
        name: e.name.trim(),
      })),
    })
    const { public_url } = await api.settings()
    return done(
      i18n('Product "${name}" created', { name: p.name }),
      i18n(
        'Next: create at least one tier with "Create policy" (a policy named "default" is used when none is chosen).',
      ),
      productMembers(p, public_url),
    )
  }),
)
