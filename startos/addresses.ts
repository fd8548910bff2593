/**
 * Choosing one URL among the many a StartOS interface has (LAN .local names,
 * IP addresses, public domains, onion or plugin addresses).
 */

/** The URLs of one interface, by reach. */
export type AddressGroups = {
  /** Public addresses that are domain names (clearnet). */
  publicDomains: string[]
  /** Every public address (domains, onion, public IPs). */
  public: string[]
  /** Every non-loopback address, LAN ones included. */
  lan: string[]
}

const secureFirst = (urls: string[]) => [
  ...urls.filter((u) => u.startsWith('https://')),
  ...urls.filter((u) => !u.startsWith('https://')),
]

/**
 * The address to hand out: a public domain, else any public address, else a
 * LAN address, preferring https and, on the LAN, the `.local` name.
 */
export function preferredUrl(g: AddressGroups | null): string | null {
  if (!g) return null
  const lan = [
    ...g.lan.filter((u) => new URL(u).hostname.endsWith('.local')),
    ...g.lan.filter((u) => !new URL(u).hostname.endsWith('.local')),
  ]
  for (const list of [g.publicDomains, g.public, lan]) {
    const pick = secureFirst(list)[0]
    if (pick) return pick.replace(/\/+$/, '')
  }
  return null
}
