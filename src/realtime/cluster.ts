import type { EventBus } from '../platform/bus/bus.js'
import type { CursorDelta } from './cursors.js'

const cursorChannel = (campaign: string) => `ovasabi:rt:cur:${campaign}`
const NODE_DOWN = 'ovasabi:rt:node-down'

interface CursorBatch {
  node: string
  d: CursorDelta
}

/**
 * Cursor exchange between nodes: each node publishes its own changes once per tick per campaign
 * and merges the other nodes' batches into its rooms (its own come back from Redis and are
 * ignored). A node that dies is announced by whichever node reaps it.
 */
export class Cluster {
  constructor(
    readonly nodeId: string,
    private readonly bus: EventBus,
    private readonly onError: (err: unknown) => void,
  ) {}

  share(campaign: string, delta: CursorDelta): void {
    const batch: CursorBatch = { node: this.nodeId, d: delta }
    this.bus.publish(cursorChannel(campaign), batch).catch(this.onError)
  }

  subscribe(campaign: string, merge: (node: string, delta: CursorDelta) => void) {
    return this.bus.subscribe(cursorChannel(campaign), (message) => {
      const batch = message as CursorBatch
      if (batch?.node && batch.node !== this.nodeId && batch.d) merge(batch.node, batch.d)
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
