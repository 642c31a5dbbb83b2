import type { EventBus } from '../../../platform/bus/bus.js'
import type { V1Principal } from '../account.service.js'
import type { StreamJson } from '../stream.schema.js'
import type { StreamService } from '../stream.service.js'
import { CELL_FIELDS, cellKey, cellOf, parseCellId } from './cell.js'
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
}

export interface Channel {
  /** Broadcastings (stream names) whose messages reach this channel's subscribers. */
  broadcastings: string[]
  subscribed(conn: CableConnection, identifier: string): Promise<boolean>
  /**
   * Whether a subscription may stay for `principal`: asked again when the socket's role changes
   * (server.ts), so a demotion ends the subscriptions the new role could not have made. None: any.
   */
  allows?(principal: V1Principal): boolean
  /** After the confirmation went out, so what it broadcasts reaches the new subscriber too. */
  confirmed?(conn: CableConnection, identifier: string): Promise<void>
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

/**
 * `CollaborativeStreamsChannel`: presence, exclusive cell locks (across nodes with Redis) and
 * cell edits. A cell is one field of one stream (`stream_<id>_<field>`, see cell.ts): an edit
 * needs the lock on the very cell it changes. Results go to everyone through the bus; errors
 * only to the sender.
 */
export function collaborativeChannel(deps: {
  store: CollabStore
  bus: EventBus
  streams: Pick<StreamService, 'update' | 'assertCanChange'>
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

  // Editing together is for those who may edit: a read-only (`default`) account would learn
  // every online editor's email and could lock cells to block them.
  const allows = (principal: V1Principal) => principal.role === 'editor' || principal.role === 'admin'

  /**
   * Per connection, the cells locked through each of its subscriptions (by identifier): a socket
   * may subscribe more than once (a page per stream), and ending one subscription releases only
   * the locks taken through it, while the connection's going away ends them all (server.ts).
   */
  const held = new WeakMap<CableConnection, Map<string, Set<string>>>()
  const lockedThrough = (conn: CableConnection, identifier: string) => {
    const subscriptions = held.get(conn) ?? new Map<string, Set<string>>()
    held.set(conn, subscriptions)
    const cells = subscriptions.get(identifier) ?? new Set<string>()
    subscriptions.set(identifier, cells)
    return cells
  }

  return {
    broadcastings: ['collaboration'],
    allows,
    async subscribed(conn, identifier) {
      if (!allows(conn.principal)) return false
      await touch(conn)
      lockedThrough(conn, identifier)
      return true
    },
    // Announced once the subscription is confirmed: before, the broadcast reached everyone but
    // the one who joined, who saw no one online until someone else came or pinged.
    confirmed: () => activeUsers(),
    async unsubscribed(conn, identifier) {
      const subscriptions = held.get(conn)
      const ended = subscriptions?.get(identifier) ?? new Set<string>()
      subscriptions?.delete(identifier)
      // A cell this connection also locked through a subscription that stays is still held.
      const kept = new Set([...(subscriptions?.values() ?? [])].flatMap((cells) => [...cells]))
      for (const cell of ended) {
        if (kept.has(cell)) continue
        if (await store.unlock(cell, conn.userId))
          await publish({ action: 'cell_unlocked', cell_id: cell, user_id: conn.userId })
      }
      // Present while any of its subscriptions is.
      if (!subscriptions?.size) {
        held.delete(conn)
        await store.leave(conn.id)
      }
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
          // Only real cells: a lock on a free-form id guards nothing and is never released by an edit.
          const target = parseCellId(cell)
          if (!target) return error(conn, identifier, 'cell_id is not a cell (stream_<id>_<field>)')
          // Only someone who may change the stream may lock its cells, or any editor could lock
          // other people's streams to keep them from editing.
          const refusal = await refused(() => deps.streams.assertCanChange(conn.principal, target.streamId))
          if (refusal) return error(conn, identifier, refusal)
          const got = await store.lock(cell, conn.userId, deps.lockTtlMs)
          if (!got) return error(conn, identifier, 'Cell is locked by another user')
          lockedThrough(conn, identifier).add(cell)
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
          // Released for the whole connection, whichever subscription took it.
          for (const cells of held.get(conn)?.values() ?? []) cells.delete(cell)
          await publish({ action: 'cell_unlocked', cell_id: cell, user_id: conn.userId })
          return
        }
        case 'update_cell': {
          const field = typeof data.field === 'string' ? data.field : ''
          if (!CELL_FIELDS.has(field))
            return error(conn, identifier, `Field ${field || '(none)'} cannot be edited`)
          const target = cellOf(data.stream_id, field)
          if (!target) return error(conn, identifier, 'stream_id must be a stream id')
          // The lock that counts is the one on the cell being changed, whatever id the client
          // names: holding some other cell's lock must not let an edit past another's lock.
          const cell = cellKey(target)
          if (data.cell_id !== undefined && data.cell_id !== cell)
            return error(conn, identifier, 'cell_id does not match stream_id and field')
          if ((await store.holder(cell)) !== conn.userId)
            return error(conn, identifier, 'Cell is not locked by you')
          try {
            // The service's own checks apply (owner or admin), as for a REST PATCH.
            const stream = await deps.streams.update(conn.principal, target.streamId, {
              [field]: data.value,
            } as never)
            await publish({
              action: 'cell_updated',
              cell_id: cell,
              stream_id: stream.id,
              field,
              // What was stored (trimmed, an alias resolved, blank as null), which every other
              // client shows next, not what this one typed.
              value: stream[field as keyof StreamJson] ?? null,
              user_id: conn.userId,
              stream,
            })
          } catch (err) {
            error(conn, identifier, clientMessage(err, 'Update failed'))
          }
          return
        }
        default:
          return error(conn, identifier, `Unknown action ${action}`)
      }
    },
  }
}

/** A service refusal (4xx) as the message of an error frame; anything else is rethrown. */
function clientMessage(err: unknown, fallback: string): string {
  const e = err as { statusCode?: number; message?: string }
  if (typeof e.statusCode !== 'number' || e.statusCode >= 500) throw err
  return e.message ?? fallback
}

/** Runs a check; its refusal's message, or undefined when it passed. */
async function refused(check: () => Promise<void>): Promise<string | undefined> {
  try {
    await check()
    return undefined
  } catch (err) {
    return clientMessage(err, 'Not allowed')
  }
}
