import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { codeChoice } from './common/choices'
import { codeMembers } from './common/codeView'
import { groups, metadata } from './common/fields'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({ code: codeChoice() })

export const deleteDiscountCode = sdk.Action.withInput(
  'delete-discount-code',
  metadata(
    i18n('Delete discount code'),
    i18n(
      'Removes a code nobody has used yet (a code that was used can only be disabled, so its sales keep their history).',
    ),
    groups.codes,
    i18n('The code is gone for good; buyers who have it can no longer use it.'),
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const before = await api.discountCode(input.code)
    const r = await api.deleteDiscountCode(input.code)
    return done(
      i18n('Discount code ${code} deleted', { code: r.deleted }),
      null,
      codeMembers(before),
    )
  }),
)
