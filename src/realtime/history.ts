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
  // Aged out from the oldest end only, as both stores trim: stamps come from each publishing
  // node's clock, so one behind its neighbours is no reason to skip it and replay past a hole.
  const cutoff = Date.now() - limits.maxAgeMs
  let start = 0
  while (start < entries.length && entries[start]!.ts < cutoff) start++
  const kept = start === 0 ? entries : entries.slice(start)
  const first = kept[0]?.frame.id as number | undefined
  if (first === undefined || first > since + 1) return { resync: true, latest }
  // Ids past `latest` were published after it was read (the Redis store reads the two apart):
  // the socket, already listening, gets those live; replayed too, they would arrive twice.
  const events = kept.filter((e): e is StoredMessage => {
    const id = e.frame.id as number
    return !('erased' in e) && id > since && id <= latest
  })
  return { events, latest }
}

type MemoryEntry = (StoredMessage & { subjects?: readonly string[] }) | ErasedMessage

/**
 * One process: ids and history in memory, published on the in-process bus. (Without Redis the bus
 * is in-process too, so this node is the deployment: an erasure reaches every history there is.)
 */
export function createMemoryHistory(bus: EventBus, limits: HistoryLimits): EventHistory {
  const campaigns = new Map<string, { seq: number; entries: MemoryEntry[] }>()
  // Ids start from this process's start time in hundredths of a millisecond, not from 1. A client
  // resuming with an id of the process before (a restart) then names one below this history and
  // is told to resync; numbered from 1 again, its id would stand for another event once this
  // process got past it, and the replay would skip what came before without a word. At most 15
  // digits (what `?since=` takes) until 2286; a process would have to publish over 100 events a
  // millisecond all its life to reach the next one's start.
  const epoch = Date.now() * 100
  const state = (campaign: string) => {
    let s = campaigns.get(campaign)
    if (!s) {
      s = { seq: epoch, entries: [] }
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
      return campaigns.get(campaign)?.seq ?? epoch
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
