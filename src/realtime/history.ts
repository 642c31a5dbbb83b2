import type { EventBus } from '../platform/bus/bus.js'
import type { RealtimeMessage } from './publish.js'

/** A delivered message as stored: `ts` is the publish time in ms. */
export interface StoredMessage extends RealtimeMessage {
  ts: number
}

export type Replay = { events: StoredMessage[]; latest: number } | { resync: true; latest: number }

/**
 * Per-campaign `campaign_event` ids and a bounded history of them, so a client that reconnects
 * with `?since=<id>` gets exactly what it missed (or is told to resync when that is gone).
 */
export interface EventHistory {
  /** Assign the campaign's next id to `message.frame.id`, keep it, publish it on `channel`. */
  publish(channel: string, campaign: string, message: RealtimeMessage): Promise<number>
  since(campaign: string, id: number): Promise<Replay>
  latest(campaign: string): Promise<number>
}

export interface HistoryLimits {
  size: number
  maxAgeMs: number
}

/** The replay decision shared by both stores: gaps or lost events mean resync. */
export function replayFrom(
  entries: StoredMessage[],
  latest: number,
  since: number,
  limits: HistoryLimits,
): Replay {
  if (since === latest) return { events: [], latest }
  if (since > latest) return { resync: true, latest }
  const cutoff = Date.now() - limits.maxAgeMs
  const kept = entries.filter((e) => e.ts >= cutoff)
  const first = kept[0]?.frame.id as number | undefined
  if (first === undefined || first > since + 1) return { resync: true, latest }
  return { events: kept.filter((e) => (e.frame.id as number) > since), latest }
}

/** One process: ids and history in memory, published on the in-process bus. */
export function createMemoryHistory(bus: EventBus, limits: HistoryLimits): EventHistory {
  const campaigns = new Map<string, { seq: number; entries: StoredMessage[] }>()
  const state = (campaign: string) => {
    let s = campaigns.get(campaign)
    if (!s) {
      s = { seq: 0, entries: [] }
      campaigns.set(campaign, s)
    }
    return s
  }
  return {
    async publish(channel, campaign, message) {
      const s = state(campaign)
      const id = ++s.seq
      const stored: StoredMessage = { ...message, frame: { ...message.frame, id }, ts: Date.now() }
      s.entries.push(stored)
      const cutoff = stored.ts - limits.maxAgeMs
      let drop = Math.max(0, s.entries.length - limits.size)
      while (drop < s.entries.length && s.entries[drop]!.ts < cutoff) drop++
      if (drop > 0) s.entries.splice(0, drop)
      await bus.publish(channel, stored)
      return id
    },
    async since(campaign, id) {
      const s = state(campaign)
      return replayFrom(s.entries, s.seq, id, limits)
    },
    async latest(campaign) {
      return campaigns.get(campaign)?.seq ?? 0
    },
  }
}
