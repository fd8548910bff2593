import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, group, value } from '../results'
import { sdk } from '../sdk'
import { backupMembers, size } from './common/backupView'
import { groups, metadata } from './common/fields'

export const serviceStatus = sdk.Action.withoutInput(
  'service-status',
  metadata(
    i18n('Service status'),
    i18n(
      'Keysat at a glance: version, licenses, active machines, unpaid invoices, the payment provider, the database, validations and backups.',
    ),
    groups.setup,
  ),
  handler<{}>(async ({ api }) => {
    const [s, st] = await Promise.all([api.status(), api.stats()])
    const plain = { copyable: false }
    return done(i18n('Keysat ${version}', { version: s.version }), null, [
      value(i18n('Licenses'), s.licenses, plain),
      value(i18n('Active machines'), s.active_machines, plain),
      value(i18n('Invoices waiting for payment'), s.pending_invoices, plain),
      value(
        i18n('Payment provider'),
        s.payment_provider ?? i18n('none connected'),
        plain,
      ),
      value(i18n('Database size'), size(s.database_bytes), plain),
      group(i18n('Validations'), [
        value(i18n('Logged'), st.validation_log_rows, plain),
        value(i18n('Written'), st.validation_events_written, plain),
        value(i18n('Dropped (log full)'), st.validation_events_dropped, plain),
        value(
          i18n('Addresses rate-limited'),
          st.rate_limited_addresses_tracked,
          plain,
        ),
        value(i18n('Connections open'), st.public_connections_open, plain),
        value(
          i18n('Connections refused (per-address cap)'),
          st.public_connections_refused_per_address_cap,
          plain,
        ),
      ]),
      group(i18n('Backups'), backupMembers(s.backups)),
    ])
  }),
)
