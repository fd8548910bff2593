import { done, group, sats, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { buyLink, groups, metadata, opt, slugPattern } from './fields'

const { InputSpec, Value, List } = sdk

const inputSpec = InputSpec.of({
  slug: Value.text({
    name: 'Slug',
    description:
      'Permanent short name used in buy links and by your application (e.g. "myapp"). It cannot be changed later.',
    required: true,
    default: null,
    placeholder: 'myapp',
    patterns: [slugPattern],
  }),
  name: Value.text({
    name: 'Name',
    description: 'What buyers see.',
    required: true,
    default: null,
    placeholder: 'My App',
    maxLength: 120,
  }),
  description: Value.textarea({
    name: 'Description',
    required: false,
    default: null,
    maxLength: 4000,
  }),
  priceSats: Value.number({
    name: 'Price',
    description:
      'Default price of a license; each tier (policy) can set its own.',
    required: true,
    default: 50_000,
    integer: true,
    min: 0,
    max: 2_100_000_000_000_000,
    units: 'sats',
  }),
  entitlements: Value.list(
    List.obj(
      {
        name: 'Entitlements',
        description:
          'Features a license can unlock (e.g. "pro"); tiers pick from this catalogue and keys carry them.',
        maxLength: 255,
      },
      {
        spec: InputSpec.of({
          slug: Value.text({
            name: 'Slug',
            required: true,
            default: null,
            placeholder: 'pro',
            patterns: [slugPattern],
          }),
          name: Value.text({
            name: 'Name',
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
  ),
})

export const createProduct = guarded(
  sdk.Action.withInput(
    'create-product',
    metadata(
      'Create product',
      'A product you sell licenses for, with its entitlement catalogue.',
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
        `Product "${p.name}" created`,
        'Next: create at least one tier with "Create policy" (a policy named "default" is used when none is chosen).',
        [
          value('Slug', p.slug),
          value('Buy link', buyLink(public_url, p.slug), {
            description: 'Share it once the product has a tier.',
          }),
          value('Product id', p.id),
          value('Price', sats(p.price_sats), { copyable: false }),
          group(
            'Entitlements',
            p.entitlements_catalog.map((e) => value(e.name, e.slug)),
          ),
        ],
      )
    }),
  ),
)
