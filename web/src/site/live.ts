import { useEffect, useRef, useState } from 'preact/hooks'
import type {
  CampaignEventFrame,
  CampaignStatusPayload,
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
  /** How many `resync_required` frames this page got: events it shows may have been lost. */
  resyncs: number
  /**
   * The campaign's status when the server closed the socket because the campaign ended, was
   * archived or unpublished while the page was open (`CAMPAIGN_NOT_ACTIVE`); null while it runs.
   */
  closed: string | null
  /**
   * The campaign's status as the socket last said it (`connected.status`, then each
   * `campaign.status` event: its scheduled start passed, an edit moved it), with `starts_at` while
   * it is `scheduled`; null until the socket said one.
   */
  phase: Phase | null
}

/** This page's own cursor ids kept (one per socket it opened): the oldest go past this. */
const MAX_SELF_IDS = 64

type Phase = { status: string } & Pick<CampaignStatusPayload, 'starts_at'>

/** `connected`'s status fields or a `campaign.status` payload, when it holds a status. */
function phaseOf(v: unknown): Phase | null {
  const o = v as { status?: unknown; starts_at?: unknown } | null
  if (typeof o?.status !== 'string') return null
  return typeof o.starts_at === 'string' ? { status: o.status, starts_at: o.starts_at } : { status: o.status }
}

/**
 * One socket per page: presence, events. Reconnects and resumes on its own.
 *
 * After `resync_required` (events were lost: a slow link overflowed the socket's send queue, or a
 * reconnect came too late for the server's replay) the page reloads what it can. Presence and
 * stats are not lost for good: once the socket catches up the server sends the newest (a presence
 * `snapshot`, which replaces the cursors, and the current `stats_update`). The leaderboard, the one
 * thing a visitor may read over REST, is read again all the same, so the page does not depend on
 * that. What only events carry (the milestone feed) cannot be read back: its component marks the
 * gap instead.
 */
export function useLive(
  client: OvasabiClient,
  campaign: string,
  ready: boolean,
  userId: string | undefined,
  /** The campaign has the `referral` feature: a resync reads the leaderboard again. */
  referral = false,
) {
  const [state, setState] = useState<ConnectionState>('connecting')
  const [activeUsers, setActiveUsers] = useState<number | null>(null)
  const [leaderboard, setLeaderboard] = useState<BoardEntry[] | null>(null)
  const [connection, setConnection] = useState<RealtimeConnection | null>(null)
  const cursors = useRef(new Map<string, RemoteCursor>()).current
  const selfIds = useRef(new Set<string>()).current
  const [frequency, setFrequency] = useState(1)
  const [resyncs, setResyncs] = useState(0)
  const [closed, setClosed] = useState<string | null>(null)
  const [phase, setPhase] = useState<Live['phase']>(null)
  /** Leaderboards from `stats_update` so far, and the last one's length (see the resync effect). */
  const boards = useRef({ seen: 0, size: 0 }).current

  useEffect(() => {
    if (!ready) return
    let hz = 1
    // On the client's token, whose user it is (not `userId`): a session renewed meanwhile (the
    // join's token expired) is a guest's, and the server refuses a guest token on a person's path.
    const conn = client.connect(campaign, {
      frequency: async () => {
        const c = await client.campaigns.get(campaign)
        hz = Number((c.metadata.scheduling as { frequency?: number } | undefined)?.frequency ?? 1) || 1
        setFrequency(hz)
        return hz
      },
    })
    setConnection(conn)
    const offs = [
      conn.onState((s) => {
        setState(s)
        // No socket says where anyone is now (the drop may last, or be for good): the cursors it
        // last placed are not left frozen on the page. The next socket's snapshot draws them again.
        if (s !== 'open') cursors.clear()
      }),
      conn.on('connected', (f) => {
        // The gateway names cursors by socket (`cursor_id`); session and user ids are kept too.
        // This page's earlier sockets stay in the set: one dropped without the server hearing of
        // it (a lid closed, a network switched) keeps its cursor on the server until the heartbeat
        // ends it, and the new socket's snapshot carries it. It is this visitor's own.
        selfIds.delete(f.cursor_id)
        selfIds.add(f.cursor_id)
        while (selfIds.size > MAX_SELF_IDS) selfIds.delete(selfIds.values().next().value as string)
        selfIds.add(f.session_id)
        if (userId) selfIds.add(userId)
        if (typeof f.user_id === 'string') selfIds.add(f.user_id)
        if (typeof f.active_users === 'number') setActiveUsers(f.active_users)
        // Each socket's first word on the status (a reconnect after the start passed reads it here).
        const p = phaseOf(f)
        if (p) setPhase(p)
      }),
      conn.on('campaign_event', (f) => {
        if (f.event !== 'campaign.status') return
        const p = phaseOf(f.payload)
        if (p) setPhase(p)
      }),
      conn.on('presence_update', (f) => {
        if (typeof f.active_users === 'number') setActiveUsers(f.active_users)
        const now = performance.now()
        // A snapshot is every cursor there is now (a socket's first, and the one a socket gets once
        // it caught up after its frames coalesced): a cursor it lacks left meanwhile, and the
        // frame that said so was never sent to this page.
        if (f.snapshot) {
          const present = new Set((f.cursors ?? []).map(([id]) => id))
          for (const id of cursors.keys()) if (!present.has(id)) cursors.delete(id)
        }
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
        if (Array.isArray(f.leaderboard)) {
          boards.seen++
          boards.size = f.leaderboard.length
          setLeaderboard(f.leaderboard as BoardEntry[])
        }
      }),
      conn.on('resync_required', () => setResyncs((n) => n + 1)),
      // The campaign closed under the open page: the socket does not come back, the page says why.
      conn.onError((err) => {
        if (err.code !== 'CAMPAIGN_NOT_ACTIVE') return
        const status = (err.details as { status?: unknown } | undefined)?.status
        setClosed(typeof status === 'string' ? status : 'ended')
      }),
    ]
    return () => {
      for (const off of offs) off()
      conn.close()
      cursors.clear()
      setConnection(null)
    }
  }, [client, campaign, ready, userId, cursors, selfIds, boards])

  /** Reads the leaderboard over REST; a `stats_update` that comes meanwhile is newer and wins. */
  function readBoard(): () => void {
    let current = true
    const seen = boards.seen
    // As many rows as the last `stats_update` had (it ranks the campaign's `leaderboard_size`,
    // which a visitor cannot read), else the server's default.
    client.referrals.leaderboard(campaign, boards.size || undefined).then(
      (board) => {
        if (current && boards.seen === seen) setLeaderboard(board.entries)
      },
      () => {
        // Unreadable now: the next `stats_update` brings the figures anyway.
      },
    )
    return () => {
      current = false
    }
  }

  useEffect(() => {
    if (resyncs === 0 || !referral) return
    return readBoard()
  }, [client, campaign, referral, resyncs, boards])

  // The socket is down before it brought any figures (a proxy or firewall that takes no
  // WebSocket, a network gone): the leaderboard is read over REST rather than left "loading".
  const boardRead = useRef(false)
  const down = state === 'reconnecting' || state === 'closed'
  useEffect(() => {
    if (!ready || !referral || !down || boards.seen > 0 || boardRead.current) return
    boardRead.current = true
    // Not cancelled when the socket opens meanwhile: a `stats_update` it brings first wins anyway.
    readBoard()
  }, [client, campaign, ready, referral, down, boards])

  return {
    state,
    activeUsers,
    leaderboard,
    connection,
    cursors,
    selfIds,
    frequency,
    resyncs,
    closed,
    phase,
  } satisfies Live
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
