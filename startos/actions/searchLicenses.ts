import { done, table } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { groups, metadata } from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  query: Value.text({
    name: 'Search for',
    description:
      'A buyer e-mail or npub, a license id, part of a key, an invoice id or a note.',
    required: true,
    default: null,
    minLength: 1,
    maxLength: 1000,
  }),
  limit: Value.number({
    name: 'At most',
    required: true,
    default: 50,
    integer: true,
    min: 1,
    max: 500,
    units: 'licenses',
  }),
})

export const searchLicenses = guarded(
  sdk.Action.withInput(
    'search-licenses',
    metadata(
      'Search licenses',
      'Find licenses by buyer, id, key or note.',
      groups.licenses,
    ),
    inputSpec,
    async () => null,
    handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
      const found = await api.searchLicenses(input.query.trim(), input.limit)
      return done(
        'Licenses found',
        found.length
          ? `${found.length} license${found.length === 1 ? '' : 's'} match.`
          : 'No license matches.',
        table(
          found,
          (l) =>
            `${l.buyer_email ?? l.buyer_npub ?? l.license_id} — ${l.status}`,
          [
            ['License id', (l) => l.license_id, true],
            ['Status', (l) => l.status],
            ['Buyer e-mail', (l) => l.buyer_email, true],
            ['Buyer npub', (l) => l.buyer_npub, true],
            ['Issued', (l) => l.issued_at],
            ['Expires', (l) => l.expires_at ?? 'never'],
            ['Entitlements', (l) => l.entitlements.join(', ') || 'none'],
            ['License key', (l) => l.license_key, true],
            ['Note', (l) => l.note],
          ],
        ),
      )
    }),
  ),
)
