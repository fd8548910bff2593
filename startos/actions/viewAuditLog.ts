import { done, table } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata, opt } from './fields'

const { InputSpec, Value } = sdk

/** The audited actions, as the daemon names them. */
const auditActions = {
  all: 'Everything',
  'license.issue': 'License issued',
  'license.suspend': 'License suspended',
  'license.unsuspend': 'License unsuspended',
  'license.revoke': 'License revoked',
  'machine.deactivate': 'Machine deactivated',
  'product.create': 'Product created',
  'product.update': 'Product changed',
  'policy.create': 'Tier created',
  'policy.update': 'Tier changed',
  'discount_code.create': 'Discount code created',
  'discount_code.update': 'Discount code changed',
  'discount_code.disable': 'Discount code disabled',
  'discount_code.enable': 'Discount code enabled',
  'discount_code.delete': 'Discount code deleted',
  'settings.update': 'Settings changed',
  'webhook_endpoint.create': 'Webhook endpoint registered',
  'webhook_endpoint.update': 'Webhook endpoint changed',
  'webhook_endpoint.delete': 'Webhook endpoint removed',
}

const inputSpec = InputSpec.of({
  action: Value.select({ name: 'What', default: 'all', values: auditActions }),
  target: Value.text({
    name: 'About',
    description:
      'Only entries about this id (a license, machine, product, tier) or code.',
    required: false,
    default: null,
    maxLength: 200,
  }),
  since: Value.datetime({
    name: 'Since',
    required: false,
    default: null,
    inputmode: 'datetime-local',
  }),
  limit: Value.number({
    name: 'At most',
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
    units: 'entries',
  }),
})

export const viewAuditLog = guarded(
  sdk.Action.withInput(
    'view-audit-log',
    metadata(
      'View audit log',
      'Every change made to licenses, machines, the catalogue and settings, newest first.',
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
        'Audit log',
        entries.length
          ? `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, newest first.`
          : 'No entries.',
        table(entries, (e) => `${e.at} ${e.action}`, [
          ['When', (e) => e.at],
          ['What', (e) => e.action],
          ['By', (e) => e.actor],
          ['About', (e) => `${e.target_type} ${e.target_id}`],
          ['Target id', (e) => e.target_id, true],
          ['Details', (e) => JSON.stringify(e.details)],
        ]),
      )
    }),
  ),
)
