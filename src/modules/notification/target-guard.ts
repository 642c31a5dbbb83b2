import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { UnprocessableError } from '../../platform/http/errors.js'

/** Addresses a webhook must never reach unless `WEBHOOK_ALLOW_PRIVATE=true` (SSRF guard). */
const blocked = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4')
}
// Besides loopback, private and link-local: the forms that carry an IPv4 address inside an IPv6
// one (IPv4-compatible `::a.b.c.d`, SIIT `::ffff:0:a.b.c.d`, NAT64, 6to4, Teredo), which reach
// that IPv4 address (loopback, the metadata service) wherever the host routes them; and the rest
// of the IANA special-purpose ranges that are not globally reachable, as for IPv4: discard and
// dummy prefixes, benchmarking, deprecated ORCHID, documentation (2001:db8::/32 and RFC 9637's
// 3fff::/20) and SRv6 SIDs.
for (const [net, prefix] of [
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['100:0:0:1::', 64],
  ['2001::', 32],
  ['2001:2::', 48],
  ['2001:10::', 28],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
  ['5f00::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6')
}

/** True for loopback, private, link-local, CGNAT, documentation, multicast and reserved addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return blocked.check(address, 'ipv4')
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    if (mapped) return blocked.check(mapped[1]!, 'ipv4')
    return blocked.check(address, 'ipv6')
  }
  return true
}

export interface ResolvedTarget {
  url: URL
  address: string
  family: 4 | 6
}

export class PrivateTargetError extends UnprocessableError {
  constructor(host: string, address: string) {
    super(
      `Webhook target ${host} resolves to ${address}, a private or loopback address; ` +
        'set WEBHOOK_ALLOW_PRIVATE=true to allow it',
      'WEBHOOK_TARGET_PRIVATE',
      { host, address },
    )
  }
}

type Addresses = Array<{ address: string; family: number }>

/** How long a host's addresses are reused: a busy endpoint is sent to many times a second. */
const DNS_CACHE_MS = 30_000
const DNS_CACHE_MAX = 1000
const dnsCache = new Map<string, { at: number; addresses: Promise<Addresses> }>()

/**
 * The host's addresses, looked up at most once per `DNS_CACHE_MS` (concurrent sends share the
 * lookup in flight); a failed lookup is not kept, so the next send asks again.
 */
export function lookupCached(
  host: string,
  resolve: (host: string) => Promise<Addresses> = (h) => lookup(h, { all: true, verbatim: true }),
  now = Date.now(),
): Promise<Addresses> {
  const hit = dnsCache.get(host)
  if (hit && now - hit.at < DNS_CACHE_MS) return hit.addresses
  if (dnsCache.size >= DNS_CACHE_MAX) dnsCache.delete(dnsCache.keys().next().value!)
  const addresses = resolve(host)
  dnsCache.delete(host)
  dnsCache.set(host, { at: now, addresses })
  addresses.catch(() => {
    if (dnsCache.get(host)?.addresses === addresses) dnsCache.delete(host)
  })
  return addresses
}

/**
 * Registration's extra rule: no `user:password@` in the URL. The sender never sends them (the
 * `webhook-signature` authenticates each message), and the URL is stored and listed in clear,
 * unlike the sealed signing secret: a password there would only leak.
 */
export function refuseCredentials(url: URL): void {
  if (url.username || url.password) {
    throw new UnprocessableError(
      'Webhook URLs must not hold credentials (user:password@); receivers check the webhook-signature header',
      'WEBHOOK_URL_INVALID',
    )
  }
}

/**
 * `url` as an API answer may show it: without `user:password@`. Registration refuses such URLs and
 * migration 025 removed them from stored ones; this keeps one written by an older node (a rolling
 * deploy) out of every answer too. Text that is not a URL is left as it is.
 */
export function withoutCredentials(url: string): string {
  if (!url.includes('@')) return url
  try {
    const parsed = new URL(url)
    if (!parsed.username && !parsed.password) return url
    parsed.username = ''
    parsed.password = ''
    return parsed.href
  } catch {
    return url
  }
}

/**
 * Resolve the target once and check every address. The sender then connects to the address
 * returned here, so DNS cannot answer differently between the check and the connection.
 */
export async function resolveTarget(rawUrl: string, allowPrivate: boolean): Promise<ResolvedTarget> {
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    throw new UnprocessableError(`${rawUrl} is not a URL`, 'WEBHOOK_URL_INVALID')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UnprocessableError('Webhook URLs must be http(s)', 'WEBHOOK_URL_INVALID')
  }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  let addresses: Addresses
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }]
  else {
    try {
      addresses = await lookupCached(host)
    } catch {
      throw new UnprocessableError(`Webhook host ${host} does not resolve`, 'WEBHOOK_HOST_UNRESOLVED')
    }
  }
  if (addresses.length === 0) {
    throw new UnprocessableError(`Webhook host ${host} does not resolve`, 'WEBHOOK_HOST_UNRESOLVED')
  }
  if (!allowPrivate) {
    const bad = addresses.find((a) => isPrivateAddress(a.address))
    if (bad) throw new PrivateTargetError(host, bad.address)
  }
  const first = addresses[0]!
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 }
}
