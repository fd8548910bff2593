import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { groups, isoTime, metadata } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  kind: Value.select({
    name: i18n('What'),
    default: 'licenses',
    values: {
      licenses: i18n('Licenses'),
      invoices: i18n('Sales (invoices)'),
      customers: i18n('Customers'),
      machines: i18n('Machines'),
      audit: i18n('Audit log'),
    },
  }),
  format: Value.select({
    name: i18n('Format'),
    default: 'csv',
    values: {
      csv: i18n('CSV (spreadsheets)'),
      jsonl: i18n('JSON Lines (programs)'),
    },
  }),
  from: Value.datetime({
    name: i18n('Created from'),
    description: i18n('Empty: from the first.'),
    required: false,
    default: null,
    inputmode: 'datetime-local',
  }),
  to: Value.datetime({
    name: i18n('Created until'),
    description: i18n('Empty: until now.'),
    required: false,
    default: null,
    inputmode: 'datetime-local',
  }),
})

export const exportData = sdk.Action.withInput(
  'export-data',
  metadata(
    i18n('Export data'),
    i18n(
      'Licenses, sales, customers, machines or the audit log as a file for a spreadsheet or another program, through a download link that works once, for ten minutes.',
    ),
    groups.data,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const link = await api.exportLink({
      file: `${input.kind}.${input.format}`,
      from: isoTime(input.from),
      to: isoTime(input.to),
    })
    return done(
      i18n('Your download link'),
      i18n(
        'Open the link in your browser before ${time}; it works once. If that address does not open from where you are, put the path after any address of the API interface.',
        { time: link.expires_at },
      ),
      [
        value(i18n('Link'), link.url),
        value(i18n('Path'), link.path),
        value(i18n('File'), `keysat-${link.file}`, { copyable: false }),
      ],
    )
  }),
)
