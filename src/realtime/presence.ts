/**
 * Who is on each campaign page. A user (or a guest session) counts once however many sockets
 * they hold; when their last socket closes they stay counted for `leaveMs`, so a reload or a
 * reconnect flap does not flicker the count. With a shared backend (Redis) the count is the
 * union over every live node.
 */
export interface PresenceBackend {
  join(campaign: string, key: string): void
  leave(campaign: string, key: string): void
  /**
   * A guest session became a registered user (`join` with its `sessionKey`): the session stops
   * counting cluster-wide, whichever nodes still hold it (a guest tab open on another node, or
   * one waiting out its leave debounce there), so the person counts once, as the user.
   */
  absorb(campaign: string, sessionKey: string): void
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
  /** Guest-session keys folded into this user's entry (the session that joined as this user). */
  sessions?: string[]
}

interface CampaignPresence {
  keys: Map<string, Entry>
  /** Guest-session key → the user key it became: that session's guest sockets count as the user. */
  aliases: Map<string, string>
}

export class Presence {
  private readonly campaigns = new Map<string, CampaignPresence>()

  constructor(
    private readonly leaveMs: number,
    private readonly backend?: PresenceBackend,
  ) {
    backend?.setResync(() => {
      const all: Array<[string, string]> = []
      for (const [campaign, p] of this.campaigns) for (const key of p.keys.keys()) all.push([campaign, key])
      return all
    })
  }

  /**
   * A socket joined as `key`. `sessionKey` is the guest-session key of the same session when
   * `key` is a registered user's: a guest who joins keeps the session id, so the guest entry (an
   * open tab, or one waiting out its leave debounce) folds into the user's and counts once.
   */
  join(campaign: string, key: string, sessionKey?: string): void {
    let p = this.campaigns.get(campaign)
    if (!p) {
      p = { keys: new Map(), aliases: new Map() }
      this.campaigns.set(campaign, p)
    }
    const target = p.aliases.get(key) ?? key
    const fold = sessionKey !== undefined && sessionKey !== target && !p.aliases.has(sessionKey)
    let carried = 0
    const guest = fold ? p.keys.get(sessionKey) : undefined
    if (fold && guest) {
      clearTimeout(guest.timer)
      p.keys.delete(sessionKey)
      this.backend?.leave(campaign, sessionKey)
      carried = guest.sockets
    }
    let entry = p.keys.get(target)
    if (entry) {
      entry.sockets += 1 + carried
      clearTimeout(entry.timer)
      entry.timer = undefined
    } else {
      entry = { sockets: 1 + carried }
      p.keys.set(target, entry)
      this.backend?.join(campaign, target)
    }
    if (fold) {
      this.backend?.absorb(campaign, sessionKey)
      p.aliases.set(sessionKey, target)
      entry.sessions ??= []
      entry.sessions.push(sessionKey)
    }
  }

  leave(campaign: string, key: string): void {
    const p = this.campaigns.get(campaign)
    if (!p) return
    const target = p.aliases.get(key) ?? key
    const entry = p.keys.get(target)
    if (!entry) return
    entry.sockets--
    if (entry.sockets > 0) return
    const drop = () => {
      if (entry.sockets > 0) return
      p.keys.delete(target)
      for (const s of entry.sessions ?? []) p.aliases.delete(s)
      if (p.keys.size === 0) this.campaigns.delete(campaign)
      this.backend?.leave(campaign, target)
    }
    if (this.leaveMs <= 0) drop()
    else {
      entry.timer = setTimeout(drop, this.leaveMs)
      entry.timer.unref()
    }
  }

  /** Exact distinct users/sessions: this node's own, or the cluster's when shared. */
  count(campaign: string): number {
    const local = this.campaigns.get(campaign)?.keys.size ?? 0
    if (!this.backend) return local
    this.backend.refresh(campaign)
    // Until the shared count answers, this node's own users are a lower bound.
    return Math.max(local, this.backend.count(campaign) ?? 0)
  }

  /** Drop everything now (shutdown): no debounce, the backend forgets this node. */
  async close(): Promise<void> {
    for (const p of this.campaigns.values()) for (const e of p.keys.values()) clearTimeout(e.timer)
    this.campaigns.clear()
    await this.backend?.close()
  }
}
