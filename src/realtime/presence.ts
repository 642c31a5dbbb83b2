/**
 * Who is on each campaign page. A user (or a guest session) counts once however many sockets
 * they hold; when their last socket closes they stay counted for `leaveMs`, so a reload or a
 * reconnect flap does not flicker the count. With a shared backend (Redis) the count is the
 * union over every live node.
 */
export interface PresenceBackend {
  join(campaign: string, key: string): void
  leave(campaign: string, key: string): void
  /** The cluster-wide count, refreshed asynchronously; undefined until the first answer. */
  refresh(campaign: string): void
  count(campaign: string): number | undefined
  /** Everything this node holds, to re-announce after another node wrongly reaped it. */
  setResync(fn: () => Array<[string, string]>): void
  close(): Promise<void>
}

interface Entry {
  sockets: number
  timer?: NodeJS.Timeout
}

export class Presence {
  private readonly campaigns = new Map<string, Map<string, Entry>>()

  constructor(
    private readonly leaveMs: number,
    private readonly backend?: PresenceBackend,
  ) {
    backend?.setResync(() => {
      const all: Array<[string, string]> = []
      for (const [campaign, keys] of this.campaigns) for (const key of keys.keys()) all.push([campaign, key])
      return all
    })
  }

  join(campaign: string, key: string): void {
    let keys = this.campaigns.get(campaign)
    if (!keys) {
      keys = new Map()
      this.campaigns.set(campaign, keys)
    }
    const entry = keys.get(key)
    if (entry) {
      entry.sockets++
      if (entry.timer) {
        clearTimeout(entry.timer)
        entry.timer = undefined
      }
      return
    }
    keys.set(key, { sockets: 1 })
    this.backend?.join(campaign, key)
  }

  leave(campaign: string, key: string): void {
    const keys = this.campaigns.get(campaign)
    const entry = keys?.get(key)
    if (!keys || !entry) return
    entry.sockets--
    if (entry.sockets > 0) return
    const drop = () => {
      if (entry.sockets > 0) return
      keys.delete(key)
      if (keys.size === 0) this.campaigns.delete(campaign)
      this.backend?.leave(campaign, key)
    }
    if (this.leaveMs <= 0) drop()
    else {
      entry.timer = setTimeout(drop, this.leaveMs)
      entry.timer.unref()
    }
  }

  /** Exact distinct users/sessions: this node's own, or the cluster's when shared. */
  count(campaign: string): number {
    const local = this.campaigns.get(campaign)?.size ?? 0
    if (!this.backend) return local
    this.backend.refresh(campaign)
    // Until the shared count answers, this node's own users are a lower bound.
    return Math.max(local, this.backend.count(campaign) ?? 0)
  }

  /** Drop everything now (shutdown): no debounce, the backend forgets this node. */
  async close(): Promise<void> {
    for (const keys of this.campaigns.values()) for (const e of keys.values()) clearTimeout(e.timer)
    this.campaigns.clear()
    await this.backend?.close()
  }
}
