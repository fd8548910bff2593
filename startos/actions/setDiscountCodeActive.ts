import { done, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { codePattern, groups, metadata } from './fields'
import { describeKind } from './listDiscountCodes'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  code: Value.text({
    name: 'Code',
    required: true,
    default: null,
    placeholder: 'LAUNCH20',
    patterns: [codePattern],
  }),
  state: Value.select({
    name: 'Set to',
    default: 'disabled',
    values: {
      disabled: 'Disabled (buyers can no longer use it)',
      enabled: 'Enabled',
    },
  }),
})

export const setDiscountCodeActive = guarded(
  sdk.Action.withInput(
    'disable-enable-discount-code',
    metadata(
      'Disable / enable discount code',
      'Stop a code from being used, or allow it again.',
      groups.codes,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const c = await api.setDiscountCodeActive(
        input.code.trim(),
        input.state === 'enabled',
      )
      return done(
        `Discount code ${c.code} ${c.active ? 'enabled' : 'disabled'}`,
        null,
        [
          value('Code', c.code),
          value('Discount', describeKind(c), { copyable: false }),
          value('Active', c.active ? 'yes' : 'no', { copyable: false }),
          value('Uses so far', c.stats.uses, { copyable: false }),
        ],
      )
    }),
  ),
)
