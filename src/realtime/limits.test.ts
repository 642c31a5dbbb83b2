import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { describe, it } from 'node:test'
import { SocketCounts } from './limits.js'

/** Enough of a TCP socket for the counts: `destroyed`, and 'close' when it ends. */
const socket = () => Object.assign(new EventEmitter(), { destroyed: false }) as unknown as Duplex

describe('SocketCounts', () => {
  it('counts per key up to the limit and frees a slot when its socket closes', () => {
    const counts = new SocketCounts({ perIp: 2, perSession: 1 })
    const [a, b, c] = [socket(), socket(), socket()]
    assert.equal(counts.takeIp(a, '10.0.0.1'), true)
    assert.equal(counts.takeIp(b, '10.0.0.1'), true)
    assert.equal(counts.takeIp(c, '10.0.0.1'), false)
    assert.equal(counts.takeIp(c, '10.0.0.2'), true)
    a.emit('close')
    assert.equal(counts.count('ip', '10.0.0.1'), 1)
    assert.equal(counts.takeSession(b, 's1'), true)
    assert.equal(counts.takeSession(c, 's1'), false)
    b.emit('close')
    c.emit('close')
    assert.equal(counts.count('ip', '10.0.0.1'), 0)
    assert.equal(counts.count('ip', '10.0.0.2'), 0)
    assert.equal(counts.count('session', 's1'), 0)
  })

  it('does not limit with 0, nor count a socket already destroyed', () => {
    const counts = new SocketCounts({ perIp: 0, perSession: 1 })
    for (let i = 0; i < 5; i++) assert.equal(counts.takeIp(socket(), '10.0.0.1'), true)
    assert.equal(counts.count('ip', '10.0.0.1'), 0)
    const gone = Object.assign(socket(), { destroyed: true })
    assert.equal(counts.takeSession(gone, 's1'), true)
    assert.equal(counts.takeSession(socket(), 's1'), true)
  })
})
