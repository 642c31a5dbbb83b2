/**
 * What the app reads for a campaign's `stats_update` (counters, leaderboard…): plain JSON, spread
 * into the frame as it is. Wired in `app.ts`, so this layer never reaches into modules.
 */
export type StatsProvider = (campaign: string) => Promise<Record<string, unknown>>

/** A campaign's latest figures; `version` changes exactly when their serialisation does. */
export interface StatsFigures {
  readonly version: number
  readonly figures: Record<string, unknown>
}

export interface StatsFeedDeps {
  read: StatsProvider
  /** A read failed (the last figures stay); `repeated` when the previous read failed too. */
  onError(err: unknown, campaign: string, repeated: boolean): void
  /** Least time between two reads of one campaign. */
  everyMs?: number
}

interface Entry {
  latest: StatsFigures | undefined
  key: string | undefined
  readAt: number
  reading: boolean
  failing: boolean
}

const READ_EVERY_MS = 1000

/**
 * The figures behind `stats_update` on this node. Each campaign is read at most once per
 * `everyMs`, one read at a time, however many ticks ask: a 60 Hz room must not query the
 * database 60 times a second. Only campaigns whose rooms ask are read at all.
 */
export class StatsFeed {
  private readonly entries = new Map<string, Entry>()
  private readonly everyMs: number
  private versions = 0
  private closed = false

  constructor(private readonly deps: StatsFeedDeps) {
    this.everyMs = deps.everyMs ?? READ_EVERY_MS
  }

  /** The campaign's latest figures (undefined until a first read lands); starts a read when one is due. */
  poll(campaign: string, now = Date.now()): StatsFigures | undefined {
    let e = this.entries.get(campaign)
    if (!e) {
      e = { latest: undefined, key: undefined, readAt: 0, reading: false, failing: false }
      this.entries.set(campaign, e)
      this.read(campaign, e, now)
    } else if (!e.reading && now - e.readAt >= this.everyMs) this.read(campaign, e, now)
    return e.latest
  }

  private read(campaign: string, e: Entry, now: number): void {
    if (this.closed) return
    e.reading = true
    e.readAt = now
    let pending: Promise<Record<string, unknown>>
    try {
      pending = this.deps.read(campaign)
    } catch (err) {
      pending = Promise.reject(err)
    }
    pending
      .then(
        (figures) => {
          e.failing = false
          const key = JSON.stringify(figures)
          if (this.closed || key === e.key) return
          e.key = key
          e.latest = { version: ++this.versions, figures }
        },
        (err) => {
          if (!this.closed) this.deps.onError(err, campaign, e.failing)
          e.failing = true
        },
      )
      .finally(() => {
        e.reading = false
      })
  }

  /**
   * Forget campaigns no room here asks for any more (called once a second). An entry outlives its
   * room until its read is done and its interval passed, so a socket that reconnects at once does
   * not buy an extra read.
   */
  prune(wanted: (campaign: string) => boolean, now = Date.now()): void {
    for (const [campaign, e] of this.entries) {
      if (!wanted(campaign) && !e.reading && now - e.readAt >= this.everyMs) this.entries.delete(campaign)
    }
  }

  /** Shutdown: no new reads; a read still in flight is dropped when it lands. */
  close(): void {
    this.closed = true
    this.entries.clear()
  }
}
