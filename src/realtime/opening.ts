import type { Connection, Delivery, SendLimits } from './connection.js'
import { encode } from './frames.js'
import type { EventHistory, StoredMessage } from './history.js'
import { matches } from './hub.js'
import type { RealtimeMetrics } from './metrics.js'
import type { Room } from './room.js'

export interface OpeningDeps {
  history: Pick<EventHistory, 'since'>
  metrics: RealtimeMetrics
  limits: SendLimits
}

/**
 * The first frame of every socket (section 4): who it is, where, what the campaign runs at, and
 * its status (`scheduled` with `starts_at`, `active`, or `draft` for an editor's preview).
 */
export function connectedFrame(
  conn: Connection,
  room: Room,
  activeUsers: number,
  latest: number,
  maxFrameBytes: number,
): Buffer {
  // The campaign's status as the socket learns it; a change after this is a `campaign.status` event.
  const phase = room.phaseFor(conn)
  return encode({
    type: 'connected',
    session_id: conn.session_id,
    user_id: conn.user_id,
    campaign: conn.campaign,
    cursor_id: conn.connection_id,
    active_users: activeUsers,
    server_time: new Date().toISOString(),
    tick_rate: room.settings.rate,
    max_cursors: room.settings.maxCursors,
    last_event_id: latest,
    expires_at: conn.expiresAt ? new Date(conn.expiresAt).toISOString() : null,
    status: phase?.status,
    starts_at: phase?.starts_at,
    // The inbound token bucket (`Connection.admit`): a client that paces itself to it loses no
    // frame; and the largest frame read, so a client can refuse a larger one instead of sending it.
    limits: {
      messages_per_second: conn.messagesPerSecond,
      burst: conn.burst,
      max_frame_bytes: maxFrameBytes,
    },
  })
}

/**
 * After `connected`: what the client missed since `since` (when it asked), then the live events
 * held while the socket opened, all through the socket's bounded queue, as live events go. A
 * replay that would not fit that queue next to the held events is not sent piecemeal: the client
 * gets `resync_required` instead (as when the history no longer reaches back), then the live
 * events after the history's latest id. Live events dropped while it opened (beyond the bound)
 * came after every held one: the overflow's `resync_required` follows the held ones. Ends the
 * opening: from here events go out as they come.
 */
export async function finishOpening(
  conn: Connection,
  since: number | undefined,
  deps: OpeningDeps,
): Promise<void> {
  const { metrics, limits } = deps
  let missed: StoredMessage[] = []
  let resync = false
  let after = 0
  if (since !== undefined) {
    const r = await deps.history.since(conn.campaign, since)
    after = r.latest
    if ('resync' in r) resync = true
    else missed = r.events.filter((e) => matches(e.audience, conn))
  }
  const held = conn.held
  if (!held || !conn.open) return
  conn.held = null
  // The events lost while it opened are reported after the held ones go out, not before.
  const lost = conn.lostUpTo
  conn.lostUpTo = -1
  // Held events the replay already carries (or the client had) are skipped.
  const live: Buffer[] = []
  const liveIds: number[] = []
  const liveKinds: Delivery[] = []
  let liveBytes = 0
  for (let i = 0; i < held.frames.length; i++) {
    const id = held.ids[i]!
    if (id > 0 && id <= after) continue
    live.push(held.frames[i]!)
    liveIds.push(id)
    liveKinds.push(held.kinds[i]!)
    liveBytes += held.frames[i]!.length
  }
  let replay = missed.map((e) => encode(e.frame))
  let replayIds = missed.map((e) => e.frame.id as number)
  if (replay.length > 0 && bytesOf(replay) + liveBytes > limits.queueBytes) {
    metrics.dropped.labels('replay_too_large').inc(replay.length)
    replay = []
    resync = true
  }
  if (since !== undefined) conn.lastId = resync ? after : since
  if (resync) {
    replay = [encode({ type: 'resync_required', since, latest_id: after })]
    replayIds = [after]
    metrics.framesSent.labels('resync_required').inc()
  } else if (replay.length > 0) {
    metrics.framesSent.labels('campaign_event').inc(replay.length)
  }
  const now = Date.now()
  let dropped = 0
  for (let i = 0; i < replay.length; i++) {
    if (!conn.sendEvent(replay[i]!, limits, now, replayIds[i])) dropped++
  }
  for (let i = 0; i < live.length; i++) {
    if (!conn.sendEvent(live[i]!, limits, now, liveIds[i], liveKinds[i])) dropped++
  }
  if (dropped > 0) metrics.dropped.labels('queue_full').inc(dropped)
  if (lost >= 0) conn.lose(lost)
  if (conn.resync(limits)) metrics.framesSent.labels('resync_required').inc()
}

function bytesOf(frames: Buffer[]): number {
  let n = 0
  for (const f of frames) n += f.length
  return n
}
