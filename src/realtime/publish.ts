import type { EventBus } from '../platform/bus/bus.js'
import type { EventHistory } from './history.js'

/** Who a frame is for. The gateway delivers it to the matching sockets on every node. */
export type Audience =
  | { scope: 'campaign'; campaign: string }
  | { scope: 'user'; campaign?: string; user_id: string }
  | { scope: 'session'; campaign?: string; session_id: string }
  | { scope: 'role'; campaign: string; role: 'admin' | 'editor' }
  /**
   * The campaign's sockets that a module put in `group` (`kind:key`, e.g. `stream:12`: the
   * viewers of stream 12). Each node asks the module that registered the kind
   * (`InboundRegistry.registerGroup`) for its own members, so the campaign's other sockets cost
   * nothing. Not kept for `?since=` replay: membership is live state.
   */
  | { scope: 'group'; campaign: string; group: string }

/** A server → client frame; `type` is one of the gateway's frame types (section 4). */
export interface OutboundFrame {
  type: string
  [key: string]: unknown
}

/** The one publish API modules call to reach sockets; they never touch sockets themselves. */
export interface RealtimePublisher {
  /**
   * `subjects`: the people a `campaign_event` names (user ids, email addresses as stored), never
   * sent: erasing one of them takes the frame out of the `?since=` replay history.
   */
  publish(audience: Audience, frame: OutboundFrame, subjects?: readonly string[]): Promise<void>
  /**
   * Erasure: the kept `campaign_event`s published naming one of `subjects` are replayed to no one
   * (see `EventHistory.forget`). Absent where nothing is kept.
   */
  forget?(subjects: readonly string[]): Promise<void>
}

/** Frames for audiences without a campaign (a user or session wherever they are connected). */
export const REALTIME_CHANNEL = 'ovasabi:realtime'

/**
 * Frames for one campaign: a node subscribes only while it holds sockets of that campaign, so
 * campaign traffic reaches only the nodes that have an audience for it.
 */
export function campaignChannel(campaign: string): string {
  return `ovasabi:realtime:c:${campaign}`
}

export interface RealtimeMessage {
  audience: Audience
  frame: OutboundFrame
}

/**
 * Publishes onto the bus, so frames reach sockets on every node (memory or Redis) exactly once.
 * `campaign_event` frames get the campaign's next id through the history, for `?since=` replay.
 */
export function createBusPublisher(bus: EventBus, history?: EventHistory): RealtimePublisher {
  return {
    async publish(audience, frame, subjects) {
      const message: RealtimeMessage = { audience, frame }
      const campaign = audience.campaign
      if (!campaign) return bus.publish(REALTIME_CHANNEL, message)
      const channel = campaignChannel(campaign)
      if (frame.type === 'campaign_event' && history) {
        await history.publish(channel, campaign, message, subjects)
        return
      }
      await bus.publish(channel, message)
    },
    async forget(subjects) {
      await history?.forget(subjects)
    },
  }
}
