import type { Connection } from './connection.js'
import type { Audience } from './publish.js'
import type { Room } from './room.js'

function addTo(index: Map<string, Set<Connection>>, key: string, conn: Connection) {
  let set = index.get(key)
  if (!set) {
    set = new Set()
    index.set(key, set)
  }
  set.add(conn)
}

function removeFrom(index: Map<string, Set<Connection>>, key: string, conn: Connection) {
  const set = index.get(key)
  if (!set) return
  set.delete(conn)
  if (set.size === 0) index.delete(key)
}

/** This node's sockets, indexed the ways audiences address them. */
export class Hub {
  readonly rooms = new Map<string, Room>()
  private readonly byUser = new Map<string, Set<Connection>>()
  private readonly bySession = new Map<string, Set<Connection>>()
  private readonly byId = new Map<string, Connection>()
  size = 0

  /** `groups`: this node's connection ids in a group of a campaign (`InboundRegistry.members`). */
  constructor(private readonly groups?: (campaign: string, group: string) => Iterable<string>) {}

  add(room: Room, conn: Connection): void {
    room.conns.add(conn)
    addTo(this.byUser, conn.user_id, conn)
    addTo(this.bySession, conn.session_id, conn)
    this.byId.set(conn.connection_id, conn)
    this.size++
  }

  /** Returns the room when it has no sockets left. */
  remove(conn: Connection): Room | undefined {
    const room = this.rooms.get(conn.campaign)
    if (!room?.conns.delete(conn)) return undefined
    removeFrom(this.byUser, conn.user_id, conn)
    removeFrom(this.bySession, conn.session_id, conn)
    this.byId.delete(conn.connection_id)
    this.size--
    return room.conns.size === 0 ? room : undefined
  }

  /**
   * The socket now uses a token of another session of the same person (an `auth` refresh after
   * logging in again): session audiences and a logout of that session reach it, not the old one's.
   * Returns whether the socket is still indexed (false once it closed).
   */
  setSession(conn: Connection, session_id: string): boolean {
    // A socket already closed (its refresh was checked while it closed) is in no index any more.
    const indexed = this.has(conn)
    if (conn.session_id === session_id) return indexed
    if (indexed) removeFrom(this.bySession, conn.session_id, conn)
    conn.session_id = session_id
    if (indexed) addTo(this.bySession, session_id, conn)
    return indexed
  }

  /** Whether `conn` is one of this node's open sockets (added, not removed yet). */
  has(conn: Connection): boolean {
    return this.rooms.get(conn.campaign)?.conns.has(conn) === true
  }

  *all(): Iterable<Connection> {
    for (const room of this.rooms.values()) yield* room.conns
  }

  /** The local sockets an audience names. */
  *targets(audience: Audience): Iterable<Connection> {
    switch (audience.scope) {
      case 'campaign': {
        const room = this.rooms.get(audience.campaign)
        if (room) yield* room.conns
        return
      }
      case 'user':
      case 'session': {
        const set =
          audience.scope === 'user'
            ? this.byUser.get(audience.user_id)
            : this.bySession.get(audience.session_id)
        if (!set) return
        for (const c of set) {
          if (!audience.campaign || c.campaign === audience.campaign) yield c
        }
        return
      }
      case 'role': {
        const room = this.rooms.get(audience.campaign)
        if (!room) return
        for (const c of room.conns) if (hasAtLeast(c, audience.role)) yield c
        return
      }
      case 'group': {
        // Only the members are looked at, never the campaign's other sockets.
        for (const id of this.groups?.(audience.campaign, audience.group) ?? []) {
          const c = this.byId.get(id)
          if (c?.campaign === audience.campaign) yield c
        }
        return
      }
    }
  }
}

export function hasAtLeast(c: Pick<Connection, 'roles'>, role: 'admin' | 'editor'): boolean {
  return c.roles.includes('admin') || (role === 'editor' && c.roles.includes('editor'))
}

/** Whether a stored message is for this socket (history replay filters by audience too). */
export function matches(audience: Audience, c: Connection): boolean {
  switch (audience.scope) {
    case 'campaign':
      return c.campaign === audience.campaign
    case 'user':
      return c.user_id === audience.user_id && (!audience.campaign || c.campaign === audience.campaign)
    case 'session':
      return c.session_id === audience.session_id && (!audience.campaign || c.campaign === audience.campaign)
    case 'role':
      return c.campaign === audience.campaign && hasAtLeast(c, audience.role)
    case 'group':
      // Membership is a node's live state, not kept with the frame: nothing to replay.
      return false
  }
}
