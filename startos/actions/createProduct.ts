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
  ...productLinkFields(false),
})

/** The product's links and key instructions, in the create and edit forms. */
export function productLinkFields(keep: boolean) {
  const leave = keep
    ? i18n('Leave empty to keep it; a single "-" clears it.')
    : i18n('Optional.')
  return {
    homepageUrl: Value.text({
      name: i18n('Homepage'),
      description: i18n("The product's web page (https://…). ${leave}", {
        leave,
      }),
      required: false,
      default: null,
      placeholder: 'https://example.com/app',
      maxLength: 2000,
    }),
    downloadUrl: Value.text({
      name: i18n('Download link'),
      description: i18n(
        'Where buyers download the application, offered with their key ("Download …"). ${leave}',
        { leave },
      ),
      required: false,
      default: null,
      placeholder: 'https://example.com/app/download',
      maxLength: 2000,
    }),
    keyInstructions: Value.textarea({
      name: i18n('What to do with the key'),
      description: i18n(
        'Shown beside the key, e.g. "Open the app, choose Help → Enter license and paste the key." ${leave}',
        { leave },
      ),
      required: false,
      default: null,
      maxLength: 2000,
    }),
  }
}

/** A link field as the API takes it: on create, empty is none; on edit, empty keeps and "-" clears. */
export function linkValue(
  v: string | null | undefined,
  keep: boolean,
): string | null | undefined {
  const t = v?.trim()
  if (!t) return keep ? undefined : null
  if (keep && t === '-') return null
  return t
}

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
      homepage_url: linkValue(input.homepageUrl, false),
      download_url: linkValue(input.downloadUrl, false),
      key_instructions: linkValue(input.keyInstructions, false),
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
