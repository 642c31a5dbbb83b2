/** One cursor: `[id, x, y]` on the wire. `node` is set for cursors merged from another node. */
export interface Cursor {
  id: string
  x: number
  y: number
  node?: string
  /** Marked idle and not moved since: a snapshot names it in `idle`, as the delta did once. */
  idle?: boolean
  /** Another node's cursor: when a batch of that node last named it (ms), see `expire`. */
  seen?: number
}

export type CursorTuple = [string, number, number]

export interface CursorDelta {
  cursors: CursorTuple[]
  left: string[]
  idle: string[]
}

/**
 * The cursors of one campaign on one node (its own and the ones merged from other nodes).
 * Maps keep insertion order, and a move re-inserts, so the newest moves are always at the end:
 * taking the most recently moved `cap` is a walk over the tail, never a sort.
 */
export class CursorBoard {
  private readonly all = new Map<string, Cursor>()
  private dirty = new Map<string, Cursor>()
  private left: string[] = []
  private idle: string[] = []

  get size(): number {
    return this.all.size
  }

  move(id: string, x: number, y: number, node?: string, now = Date.now()): void {
    let c = this.all.get(id)
    if (c) {
      this.all.delete(id)
      c.x = x
      c.y = y
      c.idle = false
    } else {
      c = node ? { id, x, y, node } : { id, x, y }
    }
    if (c.node) c.seen = now
    this.all.set(id, c)
    this.dirty.delete(id)
    this.dirty.set(id, c)
  }

  remove(id: string): void {
    if (!this.all.delete(id)) return
    this.dirty.delete(id)
    this.left.push(id)
  }

  markIdle(id: string): void {
    const c = this.all.get(id)
    if (!c || c.idle) return
    c.idle = true
    this.idle.push(id)
  }

  /** The cursor `id` as the board has it (undefined: not on the board). */
  get(id: string): Readonly<Cursor> | undefined {
    return this.all.get(id)
  }

  /** Another node named its cursor `id` again, unmoved: it still has it. */
  touch(id: string, now = Date.now()): void {
    const c = this.all.get(id)
    if (c?.node) c.seen = now
  }

  /**
   * Other nodes' cursors no batch of theirs named since `before` leave: their node lost them
   * while its `left` was lost on the way (a Redis blip), or it went quiet without saying so.
   */
  expire(before: number): void {
    const stale: string[] = []
    for (const c of this.all.values()) if (c.node && (c.seen ?? 0) < before) stale.push(c.id)
    for (const id of stale) this.remove(id)
  }

  /** Cursors merged from `node`, e.g. to drop them all when that node dies. */
  idsOf(node: string): string[] {
    const ids: string[] = []
    for (const c of this.all.values()) if (c.node === node) ids.push(c.id)
    return ids
  }

  hasChanges(): boolean {
    return this.dirty.size > 0 || this.left.length > 0 || this.idle.length > 0
  }

  /**
   * Changes since the last call, at most `cap` cursors, newest first. Cursors over the cap stay
   * pending for the next tick, so a burst is spread over ticks rather than lost.
   */
  takeDelta(cap: number): CursorDelta {
    const cursors = newest(this.dirty, cap)
    if (cursors.length === this.dirty.size) this.dirty = new Map()
    else for (const c of cursors) this.dirty.delete(c[0])
    const delta = { cursors, left: this.left, idle: this.idle }
    this.left = []
    this.idle = []
    return delta
  }

  /**
   * Every known cursor (newest first, at most `cap`) and which of them are idle: the catch-up for
   * a socket that joined or fell behind, which never got the deltas that marked them idle.
   */
  snapshot(cap: number): { cursors: CursorTuple[]; idle: string[] } {
    const cursors = newest(this.all, cap)
    const idle: string[] = []
    for (const [id] of cursors) if (this.all.get(id)?.idle) idle.push(id)
    return { cursors, idle }
  }
}

function newest(map: Map<string, Cursor>, cap: number): CursorTuple[] {
  const skip = Math.max(0, map.size - cap)
  const out: CursorTuple[] = []
  let i = 0
  for (const c of map.values()) {
    if (i++ < skip) continue
    out.push([c.id, c.x, c.y])
  }
  return out.reverse()
}
