import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import type { Connection } from './connection.js'
import type { CursorDelta } from './cursors.js'
import { Room } from './room.js'

const rooms: Room[] = []

/** A clustered room with no sockets, recording what it shares with the other nodes. */
function clusteredRoom() {
  const shared: Array<{ delta: CursorDelta; full: boolean }> = []
  const room = new Room(
    'c',
    { rate: 1, maxCursors: 50, presence: true },
    {
      limits: { softBytes: 1024, queueBytes: 1024, graceMs: 1000 },
      activeUsers: () => 0,
      shareLocal: (_campaign, delta, full) => void shared.push({ delta, full: full === true }),
      onSent: () => {},
      onSlow: () => {},
    },
  )
  rooms.push(room)
  return { room, shared }
}

const conn = (id: string) => ({ connection_id: id }) as Connection

describe('Room, clustered', () => {
  afterEach(() => {
    for (const r of rooms.splice(0)) r.stop()
  })

  it('answers a sync request with every own cursor, at most once a second', () => {
    const t0 = 1_000_000
    const { room, shared } = clusteredRoom()
    room.move(conn('n.1'), 0.1, 0.2)
    room.move(conn('n.2'), 0.3, 0.4)
    room.merge('other', { cursors: [['o.1', 0.5, 0.5]], left: [], idle: [] })
    room.tick(t0)
    assert.deepEqual(
      shared.map((s) => s.full),
      [false],
      'the changes, no full batch unasked',
    )
    room.requestSync()
    room.requestSync()
    room.tick(t0 + 100)
    assert.equal(shared.length, 2)
    assert.deepEqual(shared[1], {
      full: true,
      // Only this node's own cursors: another node's are that node's to tell.
      delta: {
        cursors: [
          ['n.2', 0.3, 0.4],
          ['n.1', 0.1, 0.2],
        ],
        left: [],
        idle: [],
      },
    })
    // Asked again within the second: answered once the second has passed, not before.
    room.requestSync()
    room.tick(t0 + 600)
    assert.equal(shared.length, 2)
    room.tick(t0 + 1100)
    assert.equal(shared.length, 3)
    assert.equal(shared[2]!.full, true)
    room.tick(t0 + 2200)
    assert.equal(shared.length, 3, 'one answer per request')
  })

  it('sends nothing for a sync when it holds no cursors of its own', () => {
    const { room, shared } = clusteredRoom()
    room.merge('other', { cursors: [['o.1', 0.5, 0.5]], left: [], idle: [] })
    room.requestSync()
    room.tick()
    assert.deepEqual(shared, [])
  })

  it("does not resend another node's full batch to its sockets when nothing moved", () => {
    const { room } = clusteredRoom()
    room.merge('other', { cursors: [['o.1', 0.5, 0.5]], left: [], idle: [] })
    room.tick()
    assert.equal(room.board.hasChanges(), false)
    // The same cursors again, as a full answer to some node's sync: nothing to broadcast.
    room.merge('other', { cursors: [['o.1', 0.5, 0.5]], left: [], idle: [] }, true)
    assert.equal(room.board.hasChanges(), false)
    // A cursor it missed, or one that moved, is merged.
    room.merge(
      'other',
      {
        cursors: [
          ['o.1', 0.6, 0.5],
          ['o.2', 0.1, 0.1],
        ],
        left: [],
        idle: [],
      },
      true,
    )
    assert.deepEqual(room.board.takeDelta(50).cursors, [
      ['o.2', 0.1, 0.1],
      ['o.1', 0.6, 0.5],
    ])
  })
})
