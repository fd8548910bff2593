import { i18n } from '../i18n'
import { done, table } from '../results'
import { handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt } from './common/fields'

const { InputSpec, Value } = sdk

/** The audited actions, as the daemon names them. */
const auditActions = {
  all: 'Everything',
  'license.issue': i18n('License issued'),
  'license.suspend': i18n('License suspended'),
  'license.unsuspend': i18n('License unsuspended'),
  'license.revoke': i18n('License revoked'),
  'machine.deactivate': i18n('Machine deactivated'),
  'product.create': i18n('Product created'),
  'product.update': i18n('Product changed'),
  'policy.create': i18n('Tier created'),
  'policy.update': i18n('Tier changed'),
  'discount_code.create': i18n('Discount code created'),
  'discount_code.update': i18n('Discount code changed'),
  'discount_code.disable': i18n('Discount code disabled'),
  'discount_code.enable': i18n('Discount code enabled'),
  'discount_code.delete': i18n('Discount code deleted'),
  'settings.update': i18n('Settings changed'),
  'webhook_endpoint.create': i18n('Webhook endpoint registered'),
  'webhook_endpoint.update': i18n('Webhook endpoint changed'),
  'webhook_endpoint.delete': i18n('Webhook endpoint removed'),
}

const inputSpec = InputSpec.of({
  action: Value.select({
    name: i18n('What'),
    default: 'all',
    values: auditActions,
  }),
  target: Value.text({
    name: i18n('About'),
    description: i18n(
      'Only entries about this id (a license, machine, product, tier) or code.',
    ),
    required: false,
    default: null,
    maxLength: 200,
  }),
  since: Value.datetime({
    name: i18n('Since'),
    required: false,
    default: null,
    inputmode: 'datetime-local',
  }),
  limit: Value.number({
    name: i18n('At most'),
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
    units: 'entries',
  }),
})

export const viewAuditLog = sdk.Action.withInput(
  'view-audit-log',
  metadata(
    i18n('View audit log'),
    i18n(
      'Every change made to licenses, machines, the catalogue and settings, newest first.',
    ),
    groups.audit,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const entries = await api.audit({
      action: input.action === 'all' ? undefined : input.action,
      target: opt(input.target),
      since: input.since ? new Date(input.since).toISOString() : undefined,
      limit: input.limit,
    })
    return done(
      i18n('Audit log'),
      entries.length === 0
        ? i18n('No entries.')
        : i18n('${n} entries, newest first.', { n: entries.length }),
      table(entries, (e) => `${e.at} ${e.action}`, [
        [i18n('When'), (e) => e.at],
        [i18n('What'), (e) => e.action],
        [i18n('By'), (e) => e.actor],
        [i18n('About'), (e) => `${e.target_type} ${e.target_id}`],
        [i18n('Target id'), (e) => e.target_id, true],
        [i18n('Details'), (e) => JSON.stringify(e.details)],
      ]),
    )
  }),
)
