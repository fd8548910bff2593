import { ImportReport, KeysatError } from '../api'
import { i18n } from '../i18n'
import { handler } from '../operator'
import { Member, done, group, table, value } from '../results'
import { sdk } from '../sdk'
import { groups, metadata } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  mode: Value.select({
    name: i18n('What to do'),
    default: 'check',
    values: {
      check: i18n(
        'Check only (dry run): report what would happen, import nothing',
      ),
      import: i18n('Import'),
    },
  }),
  csv: Value.textarea({
    name: i18n('CSV'),
    description: i18n(
      'Paste the CSV, header row first. Columns: product (required), tier, email, npub, expires_at (date, "never", or empty for the tier\'s term), seats, note, status, revoked_reason, fingerprint, external_id. Keysat\'s own licenses.csv export imports as it is.',
    ),
    required: true,
    default: null,
    minLength: 1,
    maxLength: 10_000_000,
    placeholder: 'product,tier,email\nmyapp,default,ada@example.com',
  }),
})

function reportMembers(r: ImportReport): Member[] {
  const members: Member[] = [
    value(i18n('Rows read'), r.rows, { copyable: false }),
    value(r.dry_run ? i18n('Would create') : i18n('Created'), r.created, {
      copyable: false,
    }),
    value(i18n('Imported before'), r.already_imported, { copyable: false }),
    value(i18n('Expired, skipped'), r.skipped_expired, { copyable: false }),
    value(
      i18n('Ignored columns'),
      r.ignored_columns.join(', ') || i18n('none'),
      {
        copyable: false,
      },
    ),
  ]
  if (r.errors.length) {
    members.push(
      group(
        i18n('Errors'),
        table(r.errors, (e) => i18n('Line ${line}', { line: e.line }), [
          [i18n('Column'), (e) => e.field],
          [i18n('Problem'), (e) => e.message],
        ]),
      ),
    )
  }
  if (r.results.length) {
    members.push(
      group(
        i18n('Rows'),
        table(r.results, (x) => i18n('Line ${line}', { line: x.line }), [
          [i18n('Reference'), (x) => x.reference],
          [i18n('Outcome'), (x) => x.outcome],
          [i18n('License id'), (x) => x.license_id, true],
        ]),
      ),
    )
  }
  return members
}

export const importLicenses = sdk.Action.withInput(
  'import-licenses',
  metadata(
    i18n('Import licenses'),
    i18n(
      'Licenses from another system or another Keysat, as CSV: check first, then import. Nothing is imported while any row has an error, and a row imported before is never imported twice.',
    ),
    groups.data,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const dryRun = input.mode === 'check'
    try {
      const r = await api.importLicenses(input.csv, dryRun)
      return done(
        dryRun ? i18n('The CSV is ready to import') : i18n('Licenses imported'),
        dryRun
          ? i18n('Nothing was imported yet: run again with "Import".')
          : null,
        reportMembers(r),
      )
    } catch (e) {
      if (e instanceof KeysatError && e.code === 'import_invalid') {
        return done(
          i18n('Rows with errors: nothing was imported'),
          e.message,
          reportMembers(e.body as ImportReport),
        )
      }
      throw e
    }
  }),
)
