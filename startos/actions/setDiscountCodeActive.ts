import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { codeChoice } from './common/choices'
import { codeMembers } from './common/codeView'
import { groups, metadata } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  code: codeChoice(),
  state: Value.select({
    name: i18n('Set to'),
    default: 'disabled',
    values: {
      disabled: i18n('Disabled (buyers can no longer use it)'),
      enabled: i18n('Enabled'),
    },
  }),
})

export const setDiscountCodeActive = sdk.Action.withInput(
  'disable-enable-discount-code',
  metadata(
    i18n('Disable / enable discount code'),
    i18n('Stop a code from being used, or allow it again.'),
    groups.codes,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const c = await api.setDiscountCodeActive(
      input.code,
      input.state === 'enabled',
    )
    return done(
      c.active
        ? i18n('Discount code ${code} enabled', { code: c.code })
        : i18n('Discount code ${code} disabled', { code: c.code }),
      null,
      codeMembers(c),
    )
  }),
)
