import { done, value } from '../results'
import { guarded, handler, withApi } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt } from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  name: Value.text({
    name: 'Operator name',
    description:
      'Your business name, shown to buyers on the buy and thank-you pages. Leave empty to show none.',
    required: false,
    default: null,
    placeholder: 'Ada Software',
    maxLength: 120,
  }),
})

export const setOperatorName = guarded(
  sdk.Action.withInput(
    'set-operator-name',
    metadata('Set operator name', 'The seller name buyers see.', groups.setup),
    inputSpec,
    async () =>
      withApi(async (api) => ({ name: (await api.settings()).operator_name })),
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const s = await api.setOperatorName(opt(input.name) ?? null)
      return done(
        'Operator name saved',
        s.operator_name
          ? `Buyers now see "${s.operator_name}".`
          : 'Buyers see no operator name.',
        [value('Operator name', s.operator_name)],
      )
    }),
  ),
)
