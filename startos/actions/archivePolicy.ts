import { i18n } from '../i18n'
import { handler } from '../operator'
import { done } from '../results'
import { sdk } from '../sdk'
import { tierChoice, tierOf } from './common/choices'
import { groups, metadata } from './common/fields'
import { policyMembers } from './common/policyView'

const { InputSpec } = sdk

const inputSpec = InputSpec.of({
  tier: tierChoice(
    i18n('Tier'),
    i18n(
      'Archiving a tier takes it off sale; restoring an archived one puts it back.',
    ),
  ),
})

export const archivePolicy = sdk.Action.withInput(
  'archive-policy',
  metadata(
    i18n('Archive / restore tier'),
    i18n(
      'Takes a tier off sale (its licenses keep working), or puts an archived tier back on sale.',
    ),
    groups.catalog,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const { product, tier } = tierOf(input.tier)
    const now = await api.policy(product, tier)
    const p = await api.patchPolicy(product, tier, { archived: !now.archived })
    return done(
      p.archived
        ? i18n('Tier "${name}" archived', { name: p.name })
        : i18n('Tier "${name}" is on sale again', { name: p.name }),
      null,
      policyMembers(p),
    )
  }),
)
