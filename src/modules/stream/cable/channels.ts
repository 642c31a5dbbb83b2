import type { EventBus } from '../../../platform/bus/bus.js'
import type { V1Principal } from '../account.service.js'
import type { StreamService } from '../stream.service.js'
import type { CollabStore } from './collab.store.js'
import { CABLE_CHANNEL, type CableBroadcast } from './protocol.js'

/** One `/cable` connection, as channels see it. */
export interface CableConnection {
  id: string
  principal: V1Principal
  /** The holder identity for locks and presence: one per account (tabs share it). */
  userId: string
  /** Send a message on one of this connection's subscriptions. */
  transmit(identifier: string, payload: unknown): void
  /** Cells this connection locked, released when it goes away. */
  locks: Set<string>
}

export interface Channel {
  /** Broadcastings (stream names) whose messages reach this channel's subscribers. */
  broadcastings: string[]
  subscribed(conn: CableConnection, identifier: string): Promise<boolean>
  unsubscribed(conn: CableConnection, identifier: string): Promise<void>
  perform(
    conn: CableConnection,
    identifier: string,
    action: string,
    data: Record<string, unknown>,
  ): Promise<void>
}

/** `StreamsChannel`: `{action, stream}` for every create/update/archive/delete, from any node. */
export function streamsChannel(): Channel {
  return {
    broadcastings: ['streams'],
    subscribed: async () => true,
    unsubscribed: async () => {},
    perform: async () => {},
  }
}

/** Fields a collaborator may change through `update_cell`. */
const CELL_FIELDS = new Set([
  'title',
  'notes',
  'status',
  'city',
  'state',
  'source',
  'posted_by',
  'platform',
  'orientation',
  'kind',
  'link',
  'is_pinned',
])

/**
 * `CollaborativeStreamsChannel`: presence, exclusive cell locks (across nodes with Redis) and
 * cell edits. Results go to everyone through the bus; errors only to the sender.
 */
export function collaborativeChannel(deps: {
  store: CollabStore
  bus: EventBus
  streams: Pick<StreamService, 'update'>
  lockTtlMs: number
}): Channel {
  const { store, bus } = deps
  const publish = (message: Record<string, unknown>) =>
    bus.publish(CABLE_CHANNEL, { broadcasting: 'collaboration', message } satisfies CableBroadcast)
  const error = (conn: CableConnection, identifier: string, message: string) =>
    conn.transmit(identifier, { action: 'error', message })

  async function activeUsers() {
    const seen = new Map<string, { user_id: string; user_email: string | null }>()
    for (const p of await store.present())
      seen.set(p.user_id, { user_id: p.user_id, user_email: p.user_email })
    await publish({ action: 'active_users_list', users: [...seen.values()] })
  }
  const touch = (conn: CableConnection) =>
    store.touch({
      connection_id: conn.id,
      user_id: conn.userId,
      user_email: conn.principal.email ?? null,
      seen: Date.now(),
    })
  const cellId = (data: Record<string, unknown>) =>
    typeof data.cell_id === 'string' && data.cell_id.length > 0 && data.cell_id.length <= 200
      ? data.cell_id
      : undefined

  return {
    broadcastings: ['collaboration'],
    async subscribed(conn) {
      // Editing together is for those who may edit: a read-only (`default`) account would learn
      // every online editor's email and could lock cells to block them.
      if (conn.principal.role !== 'editor' && conn.principal.role !== 'admin') return false
      await touch(conn)
      await activeUsers()
      return true
    },
    async unsubscribed(conn) {
      for (const cell of conn.locks) {
        if (await store.unlock(cell, conn.userId))
          await publish({ action: 'cell_unlocked', cell_id: cell, user_id: conn.userId })
      }
      conn.locks.clear()
      await store.leave(conn.id)
      await activeUsers()
    },
    async perform(conn, identifier, action, data) {
      switch (action) {
        case 'presence_ping': {
          await touch(conn)
          await activeUsers()
          return
        }
        case 'lock_cell': {
          const cell = cellId(data)
          if (!cell) return error(conn, identifier, 'cell_id is required')
          const got = await store.lock(cell, conn.userId, deps.lockTtlMs)
          if (!got) return error(conn, identifier, 'Cell is locked by another user')
          conn.locks.add(cell)
          await publish({
            action: 'cell_locked',
            cell_id: cell,
            user_id: conn.userId,
            user_email: conn.principal.email ?? null,
            expires_at: new Date(got.expiresAt).toISOString(),
          })
          return
        }
        case 'unlock_cell': {
          const cell = cellId(data)
          if (!cell) return error(conn, identifier, 'cell_id is required')
          if (!(await store.unlock(cell, conn.userId)))
            return error(conn, identifier, 'Cell is not locked by you')
          conn.locks.delete(cell)
          await publish({ action: 'cell_unlocked', cell_id: cell, user_id: conn.userId })
          return
        }
        case 'update_cell': {
          const cell = cellId(data)
          const field = typeof data.field === 'string' ? data.field : ''
          const streamId = Number(data.stream_id)
          if (!cell) return error(conn, identifier, 'cell_id is required')
          if (!CELL_FIELDS.has(field))
            return error(conn, identifier, `Field ${field || '(none)'} cannot be edited`)
          if ((await store.holder(cell)) !== conn.userId)
            return error(conn, identifier, 'Cell is not locked by you')
          try {
            const stream = await deps.streams.update(conn.principal, streamId, {
              [field]: data.value,
            } as never)
            await publish({
              action: 'cell_updated',
              cell_id: cell,
              stream_id: stream.id,
              field,
              value: data.value,
              user_id: conn.userId,
              stream,
            })
          } catch (err) {
            const e = err as { statusCode?: number; message?: string }
            if (typeof e.statusCode !== 'number' || e.statusCode >= 500) throw err
            error(conn, identifier, e.message ?? 'Update failed')
          }
          return
        }
        default:
          return error(conn, identifier, `Unknown action ${action}`)
      }
    },
  }
}
