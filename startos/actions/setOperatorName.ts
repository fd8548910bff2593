import { i18n } from '../i18n'
import { done, value } from '../results'
import { handler, withApi } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  name: Value.text({
    name: i18n('Operator name'),
    description: i18n(
      'Your business name, shown to buyers on the buy and thank-you pages. Leave empty to show none.',
    ),
    required: false,
    default: null,
    placeholder: 'Ada Software',
    maxLength: 120,
  }),
})

export const setOperatorName = sdk.Action.withInput(
  'set-operator-name',
  metadata(
    i18n('Set operator name'),
    i18n('The seller name buyers see.'),
    groups.setup,
  ),
  inputSpec,
  async () =>
    withApi(async (api) => ({ name: (await api.settings()).operator_name })),
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const s = await api.setOperatorName(opt(input.name) ?? null)
    return done(
      i18n('Operator name saved'),
      s.operator_name
        ? i18n('Buyers now see "${operator_name}".', {
            operator_name: s.operator_name,
          })
        : i18n('Buyers see no operator name.'),
      [value(i18n('Operator name'), s.operator_name)],
    )
  }),
)
