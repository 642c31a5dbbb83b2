import type { EventBus } from '../platform/bus/bus.js'
import type { CursorDelta } from './cursors.js'

const cursorChannel = (campaign: string) => `ovasabi:rt:cur:${campaign}`
const NODE_DOWN = 'ovasabi:rt:node-down'

/**
 * What nodes say on a campaign's cursor channel: a batch of changes (`d`), a batch holding all
 * of the node's cursors (`d` with `full`), or a request for everyone's cursors (`sync`).
 */
interface CursorBatch {
  node: string
  d?: CursorDelta
  full?: true
  sync?: true
}

export interface CursorPeer {
  /** Another node's batch; `full` when it holds every cursor of that node (an answer to a sync). */
  merge(node: string, delta: CursorDelta, full: boolean): void
  /** Another node asked for this node's cursors. */
  syncRequested(): void
}

/**
 * Cursor exchange between nodes: each node publishes its own changes once per tick per campaign
 * and merges the other nodes' batches into its rooms (its own come back from Redis and are
 * ignored). Changes alone never reach a node that was not listening when they happened, so a
 * node that starts listening to a campaign asks for the cursors as they stand (`requestSync`),
 * and the others answer with all of theirs. A node that dies is announced by whichever node
 * reaps it.
 */
export class Cluster {
  constructor(
    readonly nodeId: string,
    private readonly bus: EventBus,
    private readonly onError: (err: unknown) => void,
  ) {}

  share(campaign: string, delta: CursorDelta, full = false): void {
    const batch: CursorBatch = full
      ? { node: this.nodeId, d: delta, full: true }
      : { node: this.nodeId, d: delta }
    this.bus.publish(cursorChannel(campaign), batch).catch(this.onError)
  }

  /** Ask the other nodes for their cursors of `campaign` (call once subscribed, to hear them). */
  requestSync(campaign: string): void {
    const batch: CursorBatch = { node: this.nodeId, sync: true }
    this.bus.publish(cursorChannel(campaign), batch).catch(this.onError)
  }

  subscribe(campaign: string, peer: CursorPeer) {
    return this.bus.subscribe(cursorChannel(campaign), (message) => {
      const batch = message as CursorBatch
      if (!batch?.node || batch.node === this.nodeId) return
      if (batch.sync === true) peer.syncRequested()
      else if (batch.d) peer.merge(batch.node, batch.d, batch.full === true)
    })
  }

  announceDown(node: string): void {
    this.bus.publish(NODE_DOWN, { node }).catch(this.onError)
  }

  onNodeDown(handler: (node: string) => void) {
    return this.bus.subscribe(NODE_DOWN, (message) => {
      const node = (message as { node?: unknown }).node
      if (typeof node === 'string' && node !== this.nodeId) handler(node)
    })
  }
}
