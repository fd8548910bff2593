/**
 * Building blocks for what an action shows: copyable values, groups, and
 * tables (StartOS's result display has no grid, so a table is a group with
 * one collapsible group per row, its cells as name/value pairs).
 */
import { T } from '@start9labs/start-sdk'
import { i18n } from './i18n'

export type Member = T.ActionResultMember
export type Result = T.ActionResult & { version: '1' }

/** A named value; copyable unless said otherwise. */
export function value(
  name: string,
  v: string | number | boolean | null | undefined,
  opts: {
    description?: string
    copyable?: boolean
    masked?: boolean
    qr?: boolean
  } = {},
): Member {
  return {
    type: 'single',
    name,
    description: opts.description ?? null,
    value: v === null || v === undefined || v === '' ? '—' : String(v),
    copyable: opts.copyable ?? (v !== null && v !== undefined && v !== ''),
    masked: opts.masked ?? false,
    qr: opts.qr ?? false,
  }
}

export function group(
  name: string,
  members: Member[],
  description?: string,
): Member {
  return {
    type: 'group',
    name,
    description: description ?? null,
    value: members,
  }
}

/** One column of a table: its label, the cell, whether to offer a copy button. */
export type Column<R> = [
  label: string,
  cell: (row: R) => string | number | boolean | null | undefined,
  copyable?: boolean,
]

/** Rows as a table; `rowName` titles each row. */
export function table<R>(
  rows: R[],
  rowName: (row: R) => string,
  columns: Column<R>[],
): Member[] {
  return rows.map((row) =>
    group(
      rowName(row),
      columns.map(([label, cell, copyable]) =>
        value(label, cell(row), { copyable: copyable ?? false }),
      ),
    ),
  )
}

/** A finished action's answer. */
export function done(
  title: string,
  message: string | null,
  members: Member[] = [],
): Result {
  return {
    version: '1',
    title,
    message,
    result: members.length ? { type: 'group', value: members } : null,
  }
}

/** Satoshis with thousands separators: 1,250,000 sats. */
export function sats(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—'
  return i18n('${n} sats', { n })
}

/** Seconds as whole days ("perpetual" for 0). */
export function days(seconds: number): string {
  if (seconds === 0) return i18n('perpetual')
  const d = seconds / 86_400
  if (!Number.isInteger(d)) return i18n('${seconds} seconds', { seconds })
  return d === 1 ? i18n('1 day') : i18n('${d} days', { d })
}

/** A time for people: unix seconds or RFC 3339 in, RFC 3339 UTC out. */
export function when(t: number | string | null | undefined): string | null {
  if (t === null || t === undefined || t === '') return null
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t)
  return Number.isNaN(d.getTime())
    ? String(t)
    : d.toISOString().replace('.000Z', 'Z')
}

/** "yes" or "no", for people. */
export function yesNo(b: boolean): string {
  return b ? i18n('yes') : i18n('no')
}

/** Machines a license allows: a number, or "unlimited" for 0. */
export function seats(n: number): string | number {
  return n === 0 ? i18n('unlimited') : n
}

/** Money in fiat, as charged: "12.50 EUR, 3.00 USD". */
export function fiat(amounts: { amount: string; currency: string }[]): string {
  return amounts.map((a) => `${a.amount} ${a.currency}`).join(', ')
}
