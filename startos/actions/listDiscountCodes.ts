import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, table } from '../results'
import { sdk } from '../sdk'
import { productChoice } from './common/choices'
import { codeColumns } from './common/codeView'
import { groups, metadata } from './common/fields'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  product: productChoice(i18n('Product'), null, { all: i18n('Every product') }),
})

export const listDiscountCodes = sdk.Action.withInput(
  'list-discount-codes',
  metadata(
    i18n('List discount codes'),
    i18n('Every code with its use so far.'),
    groups.codes,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const codes = await api.discountCodes(
      input.product === 'all' ? undefined : input.product,
    )
    return done(
      i18n('Discount codes'),
      codes.length === 0
        ? i18n('No discount codes yet.')
        : i18n('${n} codes.', { n: codes.length }),
      table(
        codes,
        (c) => `${c.code} — ${c.active ? i18n('active') : i18n('disabled')}`,
        codeColumns,
      ),
    )
  }),
)
