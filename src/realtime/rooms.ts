import {
  type Campaign,
  campaignStatus,
  hasFeature,
  scheduleInstants,
  tickRate,
} from '../modules/campaign/campaign.schema.js'
import type { EventBus } from '../platform/bus/bus.js'
import type { Cluster } from './cluster.js'
import type { Connection, SendLimits } from './connection.js'
import type { StoredMessage } from './history.js'
import type { Hub } from './hub.js'
import type { RealtimeMetrics } from './metrics.js'
import { campaignChannel } from './publish.js'
import { Room, type RoomSettings } from './room.js'
import type { StatsFeed } from './stats.js'

export function roomSettings(c: Campaign): RoomSettings {
  const cap = Number((c.metadata.custom_rules as Record<string, unknown> | undefined)?.max_cursors)
  const { start, end } = scheduleInstants(c)
  return {
    rate: tickRate(c),
    maxCursors: Number.isInteger(cap) && cap > 0 ? Math.min(cap, 1000) : 50,
    presence: hasFeature(c, 'presence'),
    endsAt: instant(end),
    startsAt: instant(start),
    status: (now) => campaignStatus(c, new Date(now)),
    version: c.version,
  }
}

/** A schedule's start or end (ms since the epoch), if it names one, read as its status reads it. */
function instant(at: number | undefined): number | undefined {
  return at !== undefined && Number.isFinite(at) ? at : undefined
}

export interface RoomsDeps {
  hub: Hub
  bus: EventBus
  metrics: RealtimeMetrics
  limits: SendLimits
  cluster?: Cluster
  stats?: StatsFeed
  activeUsers(campaign: string): number
  /** A frame published on a campaign's channel. */
  deliver(message: StoredMessage): void
  onSlow(conn: Connection): void
}

type Offs = Array<() => Promise<void>>

/**
 * This node's rooms (kept in the hub): one per campaign it holds sockets of, created with the
 * first socket, listening to the campaign's channel (and, clustered, the other nodes' cursors)
 * only while it has sockets.
 */
export class Rooms {
  private readonly subscriptions = new Map<string, Promise<Offs>>()

  constructor(private readonly deps: RoomsDeps) {}

  /** The campaign's room, created for its first socket. */
  open(campaign: Campaign): Room {
    const { hub, metrics, cluster, stats } = this.deps
    let room = hub.rooms.get(campaign.slug)
    if (room) return room
    const sentPresence = metrics.framesSent.labels('presence_update')
    const coalesced = metrics.dropped.labels('presence_coalesced')
    const sentStats = metrics.framesSent.labels('stats_update')
    const sentResyncs = metrics.framesSent.labels('resync_required')
    room = new Room(campaign.slug, roomSettings(campaign), {
      limits: this.deps.limits,
      activeUsers: (slug) => this.deps.activeUsers(slug),
      shareLocal: cluster ? (slug, delta, full) => cluster.share(slug, delta, full) : undefined,
      stats: stats ? (slug) => stats.poll(slug) : undefined,
      onSent: (n, c, s, r) => {
        if (n > 0) sentPresence.inc(n)
        if (c > 0) coalesced.inc(c)
        if (s > 0) sentStats.inc(s)
        if (r > 0) sentResyncs.inc(r)
      },
      onSlow: (conn) => this.deps.onSlow(conn),
    })
    hub.rooms.set(campaign.slug, room)
    // Start the first read now: the room's first tick then has figures for the new socket.
    stats?.poll(campaign.slug)
    const subs = Promise.all([
      this.deps.bus.subscribe(campaignChannel(campaign.slug), (m) => this.deps.deliver(m as StoredMessage)),
      ...(cluster ? [this.subscribeCursors(campaign.slug, room, cluster)] : []),
    ])
    this.subscriptions.set(campaign.slug, subs)
    return room
  }

  /**
   * The campaign changed: its room (if this node has one) takes the new tick rate and cap, and is
   * returned. An older version than the room's (two changes' reads answered out of order) is
   * ignored: it would undo the newer one until the next change.
   */
  configure(campaign: Campaign): Room | undefined {
    const room = this.deps.hub.rooms.get(campaign.slug)
    if (!room || campaign.version < (room.settings.version ?? 0)) return undefined
    room.configure(roomSettings(campaign))
    return room
  }

  /** Resolves once the room of `slug` listens to its campaign (rejects when it could not). */
  async subscribed(slug: string): Promise<void> {
    await this.subscriptions.get(slug)
  }

  /** The room's last socket closed: it tells the other nodes, goes quiet and stops listening. */
  retire(room: Room): void {
    room.retire()
    this.deps.hub.rooms.delete(room.campaign)
    const subs = this.subscriptions.get(room.campaign)
    this.subscriptions.delete(room.campaign)
    void subs?.then((offs) => Promise.all(offs.map((off) => off()))).catch(() => {})
  }

  /** Another node died: its cursors leave every room here. */
  dropNode(node: string): void {
    for (const room of this.deps.hub.rooms.values()) {
      for (const id of room.board.idsOf(node)) room.board.remove(id)
    }
  }

  /** Shutdown: no room listens any more. */
  async unsubscribeAll(): Promise<void> {
    for (const subs of this.subscriptions.values()) {
      const offs = await subs.catch(() => [] as Offs)
      for (const off of offs) await off().catch(() => {})
    }
  }

  /**
   * The other nodes' cursors of this campaign: their changes from now on and, once listening,
   * the cursors as they stand (changes made before this node listened never reached it).
   */
  private async subscribeCursors(slug: string, room: Room, cluster: Cluster) {
    const off = await cluster.subscribe(slug, {
      merge: (node, d, full) => room.merge(node, d, full),
      syncRequested: () => room.requestSync(),
    })
    cluster.requestSync(slug)
    return off
  }
}
