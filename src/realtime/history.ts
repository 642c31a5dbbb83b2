import type { EventBus } from '../platform/bus/bus.js'
import type { RealtimeMessage } from './publish.js'

/** A delivered message as stored: `ts` is the publish time in ms. */
export interface StoredMessage extends RealtimeMessage {
  ts: number
}

/**
 * What erasure leaves of a kept message that named the erased person: its id and time, so the
 * history reaches back (or not) to a `since` as before. It is replayed to no one.
 */
export interface ErasedMessage {
  ts: number
  frame: { id: number }
  erased: true
}

export type HistoryEntry = StoredMessage | ErasedMessage

export type Replay = { events: StoredMessage[]; latest: number } | { resync: true; latest: number }

/**
 * Per-campaign `campaign_event` ids and a bounded history of them, so a client that reconnects
 * with `?since=<id>` gets exactly what it missed (or is told to resync when that is gone).
 */
export interface EventHistory {
  /**
   * Assign the campaign's next id to `message.frame.id`, keep it, publish it on `channel`.
   * `subjects` (user ids, email addresses) are whom the frame names: `forget` finds it by them.
   */
  publish(
    channel: string,
    campaign: string,
    message: RealtimeMessage,
    subjects?: readonly string[],
  ): Promise<number>
  since(campaign: string, id: number): Promise<Replay>
  latest(campaign: string): Promise<number>
  /** Erasure: every kept message published naming one of `subjects` is replayed to no one. */
  forget(subjects: readonly string[]): Promise<number>
}

export interface HistoryLimits {
  size: number
  maxAgeMs: number
}

/**
 * The replay decision shared by both stores: gaps or lost events mean resync. An erased message
 * still counts for the reach, and is left out like a message for another audience is: a client
 * resumes from the last id it saw, never from one it expected.
 */
export function replayFrom(
  entries: HistoryEntry[],
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
  const events = kept.filter((e): e is StoredMessage => !('erased' in e) && (e.frame.id as number) > since)
  return { events, latest }
}

type MemoryEntry = (StoredMessage & { subjects?: readonly string[] }) | ErasedMessage

/**
 * One process: ids and history in memory, published on the in-process bus. (Without Redis the bus
 * is in-process too, so this node is the deployment: an erasure reaches every history there is.)
 */
export function createMemoryHistory(bus: EventBus, limits: HistoryLimits): EventHistory {
  const campaigns = new Map<string, { seq: number; entries: MemoryEntry[] }>()
  const state = (campaign: string) => {
    let s = campaigns.get(campaign)
    if (!s) {
      s = { seq: 0, entries: [] }
      campaigns.set(campaign, s)
    }
    return s
  }
  return {
    async publish(channel, campaign, message, subjects) {
      const s = state(campaign)
      const id = ++s.seq
      const stored: StoredMessage = { ...message, frame: { ...message.frame, id }, ts: Date.now() }
      s.entries.push(subjects?.length ? { ...stored, subjects } : stored)
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
    async forget(subjects) {
      const gone = new Set(subjects)
      let n = 0
      for (const { entries } of campaigns.values()) {
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!
          if ('erased' in e || !e.subjects?.some((s) => gone.has(s))) continue
          entries[i] = { ts: e.ts, frame: { id: e.frame.id as number }, erased: true }
          n++
        }
      }
      return n
    },
  }
}
