import type { EventBus } from '../platform/bus/bus.js'

/** Who a frame is for. The gateway delivers it to the matching sockets on every node. */
export type Audience =
  | { scope: 'campaign'; campaign: string }
  | { scope: 'user'; campaign?: string; user_id: string }
  | { scope: 'session'; campaign?: string; session_id: string }
  | { scope: 'role'; campaign: string; role: 'admin' | 'editor' }

/** A server → client frame; `type` is one of the gateway's frame types (section 4). */
export interface OutboundFrame {
  type: string
  [key: string]: unknown
}

/** The one publish API modules call to reach sockets; they never touch sockets themselves. */
export interface RealtimePublisher {
  publish(audience: Audience, frame: OutboundFrame): Promise<void>
}

export const REALTIME_CHANNEL = 'ovasabi:realtime'

export interface RealtimeMessage {
  audience: Audience
  frame: OutboundFrame
}

/** Publishes onto the bus, so frames reach sockets on every node (memory or Redis). */
export function createBusPublisher(bus: EventBus): RealtimePublisher {
  return {
    async publish(audience, frame) {
      await bus.publish(REALTIME_CHANNEL, { audience, frame } satisfies RealtimeMessage)
    },
  }
}
