import { SubscriptionState } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, table } from '../results'
import { sdk } from '../sdk'
import { productChoice, resolveLicense } from './common/choices'
import { groups, metadata, opt } from './common/fields'
import {
  subscriptionColumns,
  subscriptionName,
} from './common/subscriptionView'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  state: Value.select({
    name: i18n('State'),
    description: i18n(
      'active; notice (the buyer was reminded to renew); past_due (the period ended, the key works during its grace); lapsed (the key no longer validates); canceled (no more reminders).',
    ),
    default: 'any',
    values: {
      any: i18n('Any'),
      active: i18n('Active'),
      notice: i18n('Renewal due'),
      past_due: i18n('Past due'),
      lapsed: i18n('Lapsed'),
      canceled: i18n('Canceled'),
    },
  }),
  product: productChoice(i18n('Product'), null, { all: i18n('Every product') }),
  license: Value.text({
    name: i18n('License'),
    description: i18n(
      "Only the subscription of this license (its id or key, or its buyer's e-mail or npub); empty for all.",
    ),
    required: false,
    default: null,
    maxLength: 1000,
  }),
  limit: Value.number({
    name: i18n('At most'),
    description: i18n('How many to show, newest first.'),
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
  }),
})

export const listSubscriptions = sdk.Action.withInput(
  'list-subscriptions',
  metadata(
    i18n('List subscriptions'),
    i18n(
      'Licenses of recurring tiers and where each stands: renewal due, past due, lapsed or canceled.',
    ),
    groups.subscriptions,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const given = opt(input.license)
    const subs = await api.subscriptions({
      state:
        input.state === 'any' ? undefined : (input.state as SubscriptionState),
      product: input.product === 'all' ? undefined : input.product,
      license_id: given
        ? (await resolveLicense(api, given)).license_id
        : undefined,
      limit: input.limit,
    })
    return done(
      i18n('Subscriptions'),
      subs.length === 0
        ? i18n('No subscriptions.')
        : i18n('${n} subscriptions.', { n: subs.length }),
      table(subs, subscriptionName, subscriptionColumns),
    )
  }),
)
