import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { productChoice } from './common/choices'
import { groups, metadata } from './common/fields'
import { productMembers } from './common/productView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  product: productChoice(),
  state: Value.select({
    name: i18n('Set to'),
    default: 'archived',
    values: {
      archived: i18n('Archived (no longer sold; its licenses keep working)'),
      active: i18n('On sale'),
    },
  }),
})

export const archiveProduct = sdk.Action.withInput(
  'archive-product',
  metadata(
    i18n('Archive / restore product'),
    i18n(
      'Stop selling a product (its buy page closes; issued licenses keep working), or sell it again.',
    ),
    groups.catalog,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const p = await api.patchProduct(input.product, {
      active: input.state === 'active',
    })
    const { public_url } = await api.settings()
    return done(
      p.active
        ? i18n('Product "${name}" is on sale', { name: p.name })
        : i18n('Product "${name}" archived', { name: p.name }),
      null,
      productMembers(p, public_url),
    )
  }),
)
