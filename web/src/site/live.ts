import { useEffect, useRef, useState } from 'preact/hooks'
import type {
  CampaignEventFrame,
  ConnectionState,
  OvasabiClient,
  RealtimeConnection,
} from '../../../client/index.js'

export interface RemoteCursor {
  id: string
  label?: string
  /** Latest position from the server (0–1 of the page). */
  tx: number
  ty: number
  /** Drawn position, eased toward the target every animation frame. */
  x: number
  y: number
  seenAt: number
}

/** A row of the referral leaderboard `stats_update` carries (display names only). */
export interface BoardEntry {
  rank: number
  display_name: string
  referrals: number
}

export interface Live {
  state: ConnectionState
  activeUsers: number | null
  /** The leaderboard from the latest `stats_update` (null until one arrives or without referrals). */
  leaderboard: BoardEntry[] | null
  connection: RealtimeConnection | null
  /** Mutable map read by the cursor layer's animation loop (no re-render per tick). */
  cursors: Map<string, RemoteCursor>
  /** Ids that are this visitor (session and user), so their own cursor is never drawn. */
  selfIds: Set<string>
  /** Frequency (Hz) of presence ticks, for the interpolation time constant. */
  frequency: number
}

/** One socket per page: presence, events. Reconnects and resumes on its own. */
export function useLive(client: OvasabiClient, campaign: string, ready: boolean, userId: string | undefined) {
  const [state, setState] = useState<ConnectionState>('connecting')
  const [activeUsers, setActiveUsers] = useState<number | null>(null)
  const [leaderboard, setLeaderboard] = useState<BoardEntry[] | null>(null)
  const [connection, setConnection] = useState<RealtimeConnection | null>(null)
  const cursors = useRef(new Map<string, RemoteCursor>()).current
  const selfIds = useRef(new Set<string>()).current
  const [frequency, setFrequency] = useState(1)

  useEffect(() => {
    if (!ready) return
    let hz = 1
    const conn = client.connect(campaign, {
      userId: userId ?? 'guest',
      frequency: async () => {
        const c = await client.campaigns.get(campaign)
        hz = Number((c.metadata.scheduling as { frequency?: number } | undefined)?.frequency ?? 1) || 1
        setFrequency(hz)
        return hz
      },
    })
    setConnection(conn)
    const offs = [
      conn.onState(setState),
      conn.on('connected', (f) => {
        selfIds.clear()
        // The gateway names cursors by socket (`cursor_id`); session and user ids are kept too.
        selfIds.add(f.cursor_id)
        selfIds.add(f.session_id)
        if (userId) selfIds.add(userId)
        if (typeof f.user_id === 'string') selfIds.add(f.user_id)
        if (typeof f.active_users === 'number') setActiveUsers(f.active_users)
      }),
      conn.on('presence_update', (f) => {
        if (typeof f.active_users === 'number') setActiveUsers(f.active_users)
        const now = performance.now()
        for (const [id, x, y] of f.cursors ?? []) {
          if (selfIds.has(id)) continue
          const c = cursors.get(id)
          if (c) Object.assign(c, { tx: x, ty: y, seenAt: now })
          else cursors.set(id, { id, tx: x, ty: y, x, y, seenAt: now })
        }
        for (const id of f.left ?? []) cursors.delete(String(id))
      }),
      conn.on('stats_update', (f) => {
        if (typeof f.active_users === 'number') setActiveUsers(f.active_users)
        if (Array.isArray(f.leaderboard)) setLeaderboard(f.leaderboard as BoardEntry[])
      }),
    ]
    return () => {
      for (const off of offs) off()
      conn.close()
      cursors.clear()
      setConnection(null)
    }
  }, [client, campaign, ready, userId, cursors, selfIds])

  return { state, activeUsers, leaderboard, connection, cursors, selfIds, frequency } satisfies Live
}

/** Subscribe to campaign events of one name (e.g. `referral.milestone`). */
export function useCampaignEvent(
  connection: RealtimeConnection | null,
  name: string | ((event: string) => boolean),
  handler: (frame: CampaignEventFrame) => void,
) {
  const ref = useRef(handler)
  ref.current = handler
  useEffect(() => {
    if (!connection) return
    return connection.on('campaign_event', (f) => {
      if (typeof name === 'string' ? f.event === name : name(f.event)) ref.current(f)
    })
  }, [connection, name])
}
