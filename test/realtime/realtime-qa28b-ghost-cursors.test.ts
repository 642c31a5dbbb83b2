import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CursorDelta } from '../../src/realtime/cursors.js'
import { Room } from '../../src/realtime/room.js'
import { DIALECTS, REDIS_URL, uniqueSlug } from '../helper.js'
import { waitUntil } from './client.js'
import { twoNodesOnRedis } from './two-nodes.js'

// A node's "left" lost on the bus (a Redis blip) left its cursor on the other nodes for good: a
// sync answer only added cursors, and nothing refreshed or expired the other nodes' cursors.
describe('realtime qa28b: ghost cursors across nodes (Redis)', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  const nodes = twoNodesOnRedis(DIALECTS[0])

  it("a node's sync answer removes its cursors whose `left` was lost", async () => {
    const slug = uniqueSlug('ghost')
    await nodes.presenceCampaign(slug)
    const guest = (node: typeof nodes.a) => nodes.guest(node, slug)
    const watcher = await guest(nodes.b)
    const gone = await guest(nodes.a)
    const stays = await guest(nodes.a)
    const goneId = gone.frames[0].cursor_id
    const staysId = stays.frames[0].cursor_id
    gone.send({ type: 'cursor', x: 0.1, y: 0.1 })
    stays.send({ type: 'cursor', x: 0.2, y: 0.2 })
    const has = (id: string) => (f: any) =>
      f.type === 'presence_update' && f.cursors.some((c: unknown[]) => c[0] === id)
    await watcher.next(has(goneId))
    await watcher.next(has(staysId))

    // Node A's batch naming the cursor as left is lost on its way to Redis.
    const bus = nodes.a.app.platform.bus
    const publish = bus.publish
    let lost = 0
    bus.publish = async (channel, message) => {
      const left = (message as { d?: CursorDelta })?.d?.left
      if (channel === `ovasabi:rt:cur:${slug}` && left?.includes(goneId)) {
        lost++
        return
      }
      return publish.call(bus, channel, message)
    }
    try {
      gone.close()
      await waitUntil(() => lost > 0, 10_000, 'the batch naming the cursor as left')
      // Another change of node A's (after the lost one) proves the lost batch went by.
      stays.send({ type: 'cursor', x: 0.3, y: 0.3 })
      await watcher.next(
        (f) => f.type === 'presence_update' && f.cursors.some((c: any[]) => c[0] === staysId && c[1] === 0.3),
      )
    } finally {
      bus.publish = publish
    }
    assert.equal(lost, 1, 'the left was lost')
    const from = watcher.frames.length
    // Some node asks for everyone's cursors (one that starts listening, or a periodic re-sync).
    await nodes.b.app.platform.bus.publish(`ovasabi:rt:cur:${slug}`, { node: 'qa28b-someone', sync: true })
    await watcher.next((f) => f.type === 'presence_update' && f.left.includes(goneId), 10_000, from)
  })
})

describe("realtime qa28b: other nodes' cursors expire unless refreshed", () => {
  const deps = (shared: Array<{ delta: CursorDelta; full: boolean }>) => ({
    limits: { softBytes: 64 * 1024, queueBytes: 1024 * 1024, graceMs: 10_000 },
    activeUsers: () => 0,
    shareLocal: (_c: string, delta: CursorDelta, full = false) => void shared.push({ delta, full }),
    onSent: () => {},
    onSlow: () => {},
  })
  const settings = { rate: 0.1, maxCursors: 50, presence: true }

  it("drops a node's cursor that no batch of that node refreshed, keeps a refreshed one", () => {
    const room = new Room('c', settings, deps([]))
    try {
      const t0 = Date.now()
      room.merge('n2', { cursors: [['ghost', 0.1, 0.1]], left: [], idle: [] })
      room.merge('n3', { cursors: [['live', 0.2, 0.2]], left: [], idle: [] })
      room.tick(t0)
      assert.ok(room.board.get('ghost') && room.board.get('live'))
      // Hours later node n3 re-sent its cursors as they stand (unmoved); n2 said nothing.
      const later = t0 + 3 * 3600_000
      const realNow = Date.now
      Date.now = () => later
      try {
        room.merge('n3', { cursors: [['live', 0.2, 0.2]], left: [], idle: [] }, true)
        room.tick(later)
      } finally {
        Date.now = realNow
      }
      assert.equal(room.board.get('ghost'), undefined, 'the unrefreshed cursor expired')
      assert.ok(room.board.get('live'), 'the refreshed cursor stays')
    } finally {
      room.stop()
    }
  })

  it('re-sends its own cursors to the other nodes now and then, unasked', () => {
    const shared: Array<{ delta: CursorDelta; full: boolean }> = []
    const room = new Room('c', settings, deps(shared))
    try {
      const t0 = Date.now()
      const conn = { connection_id: 'mine' } as Parameters<Room['move']>[0]
      room.move(conn, 0.5, 0.5)
      room.tick(t0)
      assert.equal(shared.at(-1)?.full, false)
      shared.length = 0
      room.tick(t0 + 3600_000)
      const full = shared.find((s) => s.full)
      assert.ok(full, 'a full batch went out without a sync request')
      assert.deepEqual(full.delta.cursors, [['mine', 0.5, 0.5]])
    } finally {
      room.stop()
    }
  })
})
