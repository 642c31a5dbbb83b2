import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { clientNetwork } from './client-network.js'

describe('clientNetwork', () => {
  it('keeps an IPv4 address, also one a dual-stack socket reports IPv4-mapped', () => {
    assert.equal(clientNetwork('203.0.113.7'), '203.0.113.7')
    assert.equal(clientNetwork('::ffff:203.0.113.7'), '203.0.113.7')
    assert.equal(clientNetwork('::FFFF:cb00:7107'), '203.0.113.7')
  })

  it('counts an IPv6 address as its /64, however it is written', () => {
    const net = '2001:db8:a:b::/64'
    for (const a of ['2001:db8:a:b::1', '2001:0DB8:000a:000b:ffff:ffff:ffff:ffff', '2001:db8:a:b:1:2:3:4'])
      assert.equal(clientNetwork(a), net, a)
    assert.notEqual(clientNetwork('2001:db8:a:c::1'), net)
    assert.equal(clientNetwork('fe80::1%eth0'), 'fe80:0:0:0::/64')
    assert.equal(clientNetwork('::1'), '0:0:0:0::/64')
  })

  it('returns anything that is not an address unchanged', () => {
    assert.equal(clientNetwork(''), '')
    assert.equal(clientNetwork('unknown'), 'unknown')
  })
})
