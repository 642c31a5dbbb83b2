import { isIPv4, isIPv6 } from 'node:net'

/**
 * The network a client address stands for, which every per-address limit counts under (the
 * global rate limit, quotes, sockets, logins, sign-ups, referrals per code): an IPv4 address
 * itself, also when a dual-stack socket reports it IPv4-mapped (`::ffff:203.0.113.7`), and for IPv6
 * its /64 (`2001:db8:a:b::/64`). A subscriber is given a whole /64 (at least) and may send from any
 * address in it, so counted by the full address an IPv6 client would have no limit at all; a /64
 * is one household or office, as one IPv4 address behind NAT is. Anything else (no address, a unix
 * socket) is returned unchanged. Logs and metrics keep the full address: this is a counting key.
 *
 * It runs on every request (the global limit's key), so it stays cheap: an IPv4 address is
 * returned as it came (no regular expression, no allocation), an IPv4-mapped one as its tail, an
 * IPv6 one parsed into shared scratch space, the key being the one string it makes.
 */
export function clientNetwork(ip: string): string {
  // IPv4, and anything else without a colon, is its own key. So is a missing one: Fastify's
  // `request.ip` is undefined once the client's socket has closed, and must not throw here.
  if (!ip || ip.indexOf(':') === -1) return ip
  // How a dual-stack listener (`::`) reports every IPv4 client.
  if (ip.startsWith('::ffff:') || ip.startsWith('::FFFF:')) {
    const v4 = ip.slice(7)
    if (isIPv4(v4)) return v4
  }
  if (!isIPv6(ip)) return ip
  const g = ipv6Groups(ip)
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `${g[6] >> 8}.${g[6] & 0xff}.${g[7] >> 8}.${g[7] & 0xff}`
  }
  return `${g[0].toString(16)}:${g[1].toString(16)}:${g[2].toString(16)}:${g[3].toString(16)}::/64`
}

/** Scratch for one parse at a time (parsing is synchronous): no arrays made per request. */
const groups = new Uint16Array(8)
const after = new Uint16Array(8)

/**
 * The eight 16-bit groups of an address `isIPv6` accepted (`::` expanded, a dotted IPv4 tail
 * converted, a `%zone` ignored), in a shared array that the next call overwrites.
 */
function ipv6Groups(address: string): Uint16Array {
  const zone = address.indexOf('%')
  const end = zone === -1 ? address.length : zone
  const gap = address.indexOf('::')
  if (gap === -1 || gap >= end) {
    readGroups(address, 0, end, groups)
    return groups
  }
  const left = readGroups(address, 0, gap, groups)
  const right = readGroups(address, gap + 2, end, after)
  groups.fill(0, left, 8 - right)
  for (let i = 0; i < right; i++) groups[8 - right + i] = after[i]
  return groups
}

/** Parse the groups of `text[from, to)` (hex groups joined by `:`, maybe a dotted tail) into `out`; returns how many. */
function readGroups(text: string, from: number, to: number, out: Uint16Array): number {
  if (from >= to) return 0
  let n = 0
  let value = 0
  let start = from
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x3a /* : */) {
      out[n++] = value
      value = 0
      start = i + 1
    } else if (c === 0x2e /* . */) {
      return n + readDotted(text, start, to, out, n)
    } else {
      // 0-9, a-f, A-F (isIPv6 let nothing else through)
      value = value * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57)
    }
  }
  out[n++] = value
  return n
}

/** A dotted IPv4 tail (`203.0.113.7`) as the two groups it stands for, written at `out[at]`. */
function readDotted(text: string, from: number, to: number, out: Uint16Array, at: number): number {
  let address = 0
  let octet = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x2e /* . */) {
      address = address * 256 + octet
      octet = 0
    } else {
      octet = octet * 10 + (c - 0x30)
    }
  }
  address = address * 256 + octet
  out[at] = Math.floor(address / 0x10000)
  out[at + 1] = address % 0x10000
  return 2
}
