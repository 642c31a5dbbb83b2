import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { StatsFeed } from './stats.js'

/** A provider whose reads the test resolves or rejects by hand. */
function manual() {
  const calls: Array<{
    campaign: string
    resolve: (v: Record<string, unknown>) => void
    reject: (e: unknown) => void
  }> = []
  const read = (campaign: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => calls.push({ campaign, resolve, reject }))
  return { calls, read }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
}

describe('StatsFeed', () => {
  it('reads once per interval and one read at a time, however often it is polled', async () => {
    const { calls, read } = manual()
    const feed = new StatsFeed({ read, onError: () => {}, everyMs: 1000 })
    for (let t = 0; t < 60; t++) assert.equal(feed.poll('a', 10_000 + t), undefined)
    assert.equal(calls.length, 1, 'one read while the first is in flight')
    // Still in flight after the interval: no second read.
    feed.poll('a', 12_000)
    assert.equal(calls.length, 1)
    calls[0]!.resolve({ counters: { leads: 1 } })
    await settle()
    const first = feed.poll('a', 12_001)
    assert.deepEqual(first?.figures, { counters: { leads: 1 } })
    assert.equal(calls.length, 2, 'due again once the read landed and the interval passed')
    feed.poll('a', 12_500)
    assert.equal(calls.length, 2)
    // Other campaigns are read independently.
    feed.poll('b', 12_500)
    assert.deepEqual(
      calls.map((c) => c.campaign),
      ['a', 'a', 'b'],
    )
    feed.close()
  })

  it('changes the version only when the figures serialise differently', async () => {
    const { calls, read } = manual()
    const feed = new StatsFeed({ read, onError: () => {}, everyMs: 1000 })
    feed.poll('a', 0)
    calls[0]!.resolve({ counters: { leads: 1 } })
    await settle()
    const v1 = feed.poll('a', 1000)!.version
    calls[1]!.resolve({ counters: { leads: 1 } })
    await settle()
    assert.equal(feed.poll('a', 2000)!.version, v1, 'same figures, same version')
    calls[2]!.resolve({ counters: { leads: 2 } })
    await settle()
    const next = feed.poll('a', 2500)!
    assert.notEqual(next.version, v1)
    assert.deepEqual(next.figures, { counters: { leads: 2 } })
    feed.close()
  })

  it('keeps the last figures when a read fails, and reports repeats as such', async () => {
    const { calls, read } = manual()
    const errors: boolean[] = []
    const feed = new StatsFeed({ read, onError: (_e, _c, repeated) => errors.push(repeated), everyMs: 1000 })
    feed.poll('a', 0)
    calls[0]!.resolve({ counters: { leads: 3 } })
    await settle()
    const before = feed.poll('a', 1000)!
    calls[1]!.reject(new Error('database down'))
    await settle()
    feed.poll('a', 2000)
    calls[2]!.reject(new Error('database down'))
    await settle()
    assert.deepEqual(feed.poll('a', 2500), before)
    assert.deepEqual(errors, [false, true])
    // A provider that throws synchronously is a failed read too, not a broken tick.
    const throwing = new StatsFeed({
      read: () => {
        throw new Error('boom')
      },
      onError: () => errors.push(false),
    })
    assert.equal(throwing.poll('a', 0), undefined)
    await settle()
    assert.equal(errors.length, 3)
    throwing.close()
    feed.close()
  })

  it('prunes campaigns without a room only after their interval, and drops reads after close', async () => {
    const { calls, read } = manual()
    const feed = new StatsFeed({ read, onError: () => assert.fail('no errors after close'), everyMs: 1000 })
    feed.poll('a', 0)
    calls[0]!.resolve({ counters: {} })
    await settle()
    feed.prune(() => false, 500)
    feed.poll('a', 600)
    assert.equal(calls.length, 1, 'a quick reconnect does not buy another read')
    feed.prune(() => false, 1000)
    assert.equal(feed.poll('a', 1000), undefined, 'forgotten')
    assert.equal(calls.length, 2)
    feed.close()
    calls[1]!.reject(new Error('pool closed'))
    await settle()
    feed.poll('a', 5000)
    assert.equal(calls.length, 2, 'no reads after close')
  })
})
