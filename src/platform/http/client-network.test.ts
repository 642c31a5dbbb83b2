import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { describe, it } from 'node:test'
import { clientNetwork } from './client-network.js'

/** Ways to write the address of eight groups: full with leading zeros, uppercase, `::` at each run of zeros, a dotted tail. */
function spellings(g: number[]): string[] {
  const hex = g.map((x) => x.toString(16))
  const out = [hex.join(':'), g.map((x) => x.toString(16).padStart(4, '0').toUpperCase()).join(':')]
  for (let i = 0; i < 8; i++) {
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j > i) out.push(`${hex.slice(0, i).join(':')}::${hex.slice(j).join(':')}`)
  }
  const v4 = [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.')
  out.push(`${hex.slice(0, 6).join(':')}:${v4}`)
  return out
}

describe('clientNetwork', () => {
  it('keeps an IPv4 address, also one a dual-stack socket reports IPv4-mapped', () => {
    assert.equal(clientNetwork('203.0.113.7'), '203.0.113.7')
    assert.equal(clientNetwork('::ffff:203.0.113.7'), '203.0.113.7')
    assert.equal(clientNetwork('::FFFF:203.0.113.7'), '203.0.113.7')
    assert.equal(clientNetwork('::FFFF:cb00:7107'), '203.0.113.7')
    assert.equal(clientNetwork('0:0:0:0:0:FfFf:203.0.113.7'), '203.0.113.7')
    assert.equal(clientNetwork('::ffff:0:0'), '0.0.0.0')
    assert.equal(clientNetwork('::ffff:ffff:ffff'), '255.255.255.255')
  })

  it('counts an IPv6 address as its /64, however it is written', () => {
    const net = '2001:db8:a:b::/64'
    for (const a of ['2001:db8:a:b::1', '2001:0DB8:000a:000b:ffff:ffff:ffff:ffff', '2001:db8:a:b:1:2:3:4'])
      assert.equal(clientNetwork(a), net, a)
    assert.notEqual(clientNetwork('2001:db8:a:c::1'), net)
    assert.equal(clientNetwork('fe80::1%eth0'), 'fe80:0:0:0::/64')
    assert.equal(clientNetwork('fe80::1%a::b'), 'fe80:0:0:0::/64')
    assert.equal(clientNetwork('::1'), '0:0:0:0::/64')
    assert.equal(clientNetwork('::'), '0:0:0:0::/64')
    assert.equal(clientNetwork('2001:db8::'), '2001:db8:0:0::/64')
    assert.equal(clientNetwork('2001:db8:a:b:c::1.2.3.4'), net)
    assert.equal(clientNetwork('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64')
  })

  it('gives every spelling of an address the same /64, and different /64s different keys', () => {
    for (let round = 0; round < 500; round++) {
      // Runs of zeros are likely, so every `::` position is exercised.
      const g = Array.from({ length: 8 }, () => (randomInt(3) === 0 ? 0 : randomInt(0x10000)))
      if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) continue
      const want = `${g
        .slice(0, 4)
        .map((x) => x.toString(16))
        .join(':')}::/64`
      for (const a of spellings(g)) assert.equal(clientNetwork(a), want, `${a} (${g.join(',')})`)
    }
  })

  it('returns anything that is not an address unchanged', () => {
    for (const s of ['', 'unknown', '1.2.3.4.5', 'a:b', '1::2::3', '::ffff:1.2.3', 'gggg::1'])
      assert.equal(clientNetwork(s), s)
    // Fastify's `request.ip` once the socket has closed.
    assert.equal(clientNetwork(undefined as unknown as string), undefined)
  })
})
