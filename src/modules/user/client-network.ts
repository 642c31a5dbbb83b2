import { isIPv4, isIPv6 } from 'node:net'

/**
 * The network a client address stands for, which per-address limits count under (login attempts,
 * referrals per code and address): an IPv4 address itself, also when a dual-stack socket reports
 * it IPv4-mapped (`::ffff:203.0.113.7`), and for IPv6 its /64. A subscriber is given a whole /64
 * (at least) and may send from any address in it, so counted by the full address an IPv6 client
 * would have no limit at all; a /64 is one household or office, as one IPv4 address behind NAT is.
 * Anything else (no address, a unix socket) is returned unchanged.
 */
export function clientNetwork(ip: string): string {
  const address = ip.split('%')[0]!
  if (isIPv4(address)) return address
  if (!isIPv6(address)) return ip
  const g = ipv6Groups(address)
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.')
  }
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] {
  let text = address
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const parse = (part: string) => (part ? part.split(':').map((h) => Number.parseInt(h, 16)) : [])
  const [head = '', tail] = text.split('::')
  const left = parse(head)
  if (tail === undefined) return left
  const right = parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}
