import {
  WebhookDelivery,
  WebhookDeliveryDetails,
  WebhookEndpoint,
} from '../../api'
import { i18n } from '../../i18n'
import { Column, Member, group, table, value, yesNo } from '../../results'

/** What the daemon accepts (http/admin/webhook_endpoints.rs): http(s) with a host, at most 2000 characters. */
export const webhookUrlPattern = {
  regex: '^\\s*[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+\\S*\\s*$',
  description: i18n('an address starting with https:// or http://'),
}

/** "every event type", or the subscribed types. */
export function describeEvents(events: string[]): string {
  return events.includes('*') ? i18n('every event type') : events.join(', ')
}

export function endpointMembers(e: WebhookEndpoint): Member[] {
  const plain = { copyable: false }
  return [
    value(i18n('Endpoint id'), e.id),
    value(i18n('URL'), e.url),
    value(i18n('Events'), describeEvents(e.events), plain),
    value(i18n('Active'), e.active ? i18n('yes') : i18n('no (paused)'), plain),
    value(i18n('Description'), e.description, plain),
  ]
}

export const deliveryColumns: Column<WebhookDelivery>[] = [
  [i18n('Delivery id'), (d) => d.id, true],
  [i18n('Event id'), (d) => d.event_id, true],
  [i18n('Event'), (d) => d.event_type],
  [i18n('Endpoint'), (d) => d.endpoint_url],
  [i18n('State'), (d) => d.state],
  [i18n('Attempts'), (d) => d.attempts],
  [i18n('Last status'), (d) => d.status_code],
  [
    i18n('Last latency'),
    (d) =>
      d.latency_ms === null ? null : i18n('${n} ms', { n: d.latency_ms }),
  ],
  [i18n('Last error'), (d) => d.error],
  [i18n('Next attempt'), (d) => d.next_attempt_at],
  [i18n('Delivered'), (d) => d.delivered_at],
  [i18n('Created'), (d) => d.created_at],
]

export function deliveryName(d: WebhookDelivery): string {
  return `${d.event_type} — ${d.state}`
}

/** A delivery with every attempt made. */
export function deliveryMembers(d: WebhookDeliveryDetails): Member[] {
  return [
    ...deliveryColumns.map(([label, cell, copyable]) =>
      value(label, cell(d), { copyable: copyable ?? false }),
    ),
    group(
      i18n('Attempts'),
      table(d.log, (a) => a.at, [
        [i18n('Status'), (a) => a.status_code],
        [i18n('Latency'), (a) => i18n('${n} ms', { n: a.latency_ms })],
        [i18n('Error'), (a) => a.error],
        [i18n('Asked by you'), (a) => yesNo(a.manual)],
      ]),
    ),
  ]
}
