import type { TSchema } from 'typebox'
import type { ModuleManifest } from '../platform/module.js'
import * as f from './frames.schema.js'

export type EventChannel = 'ws' | 'cable' | 'bus' | 'webhook'
/** From the server's point of view (AsyncAPI's words): `send` = server → client, `receive` = client → server. */
export type EventDirection = 'send' | 'receive'

export interface EventSchemaEntry {
  channel: EventChannel
  /**
   * Frame `type` (`media_event`), cable message name, bus channel, webhook event — or, on `ws`, a
   * dotted campaign event name (`referral.milestone`): its schema is then the `payload` of a
   * `campaign_event` frame.
   */
  name: string
  direction: EventDirection
  schema: TSchema
  description?: string
}

const key = (channel: string, direction: string, name: string) => `${channel}\u0000${direction}\u0000${name}`

/**
 * Every event type the platform sends or receives, with its schema. Validation refuses an emitted
 * event without one; the AsyncAPI document is generated from it. A module adds its events with
 * one line, either `eventSchemas.register({channel, name, direction, schema})` (the registry is
 * `app.eventSchemas`) or `schema: X` on the event in its manifest.
 */
export class EventSchemaRegistry {
  private readonly entries = new Map<string, EventSchemaEntry>()

  register(entry: EventSchemaEntry): this {
    const k = key(entry.channel, entry.direction, entry.name)
    if (this.entries.has(k))
      throw new Error(`Event schema ${entry.channel} ${entry.direction} ${entry.name} is registered twice`)
    this.entries.set(k, entry)
    return this
  }

  get(channel: EventChannel, direction: EventDirection, name: string): EventSchemaEntry | undefined {
    return this.entries.get(key(channel, direction, name))
  }

  list(): EventSchemaEntry[] {
    return [...this.entries.values()]
  }

  /** Takes the schemas modules put on their manifest events (`schema:`), once per event. */
  addFromManifests(manifests: ModuleManifest[]): this {
    for (const m of manifests) {
      for (const e of m.events) {
        if (!e.schema) continue
        const direction = e.direction === 'emits' ? 'send' : 'receive'
        const existing = this.get(e.channel, direction, e.name)
        if (existing && existing.schema !== e.schema)
          throw new Error(
            `Event ${e.channel} ${e.name}: module ${m.name} declares a second, different schema`,
          )
        if (!existing)
          this.register({
            channel: e.channel,
            name: e.name,
            direction,
            schema: e.schema,
            description: e.description,
          })
      }
    }
    return this
  }
}

/** The registry with the foundation's frames: WebSocket section 4, the ActionCable protocol, bus channels. */
export function createEventSchemaRegistry(): EventSchemaRegistry {
  const r = new EventSchemaRegistry()
  const on =
    (channel: EventChannel) =>
    (direction: EventDirection, name: string, schema: TSchema, description: string) =>
      r.register({ channel, name, direction, schema, description })
  const ws = on('ws')
  ws('send', 'connected', f.ConnectedFrame, 'Once, after the upgrade')
  ws('send', 'presence_update', f.PresenceUpdateFrame, 'Every tick: active users and changed cursors')
  ws('send', 'stats_update', f.StatsUpdateFrame, 'On a tick when changed: counters, leaderboard')
  ws('send', 'update_ack', f.UpdateAckFrame, "Result of the user's own action")
  ws('send', 'campaign_event', f.CampaignEventFrame, 'Envelope events for the campaign')
  ws('send', 'media_event', f.MediaEventFrame, 'Media progress and lifecycle')
  ws('send', 'stream_event', f.StreamEventFrame, 'Stream lifecycle')
  ws('send', 'notification', f.NotificationFrame, 'A notification')
  ws('send', 'error', f.ErrorFrame, 'An error, with the same codes as REST')
  ws(
    'send',
    'resync_required',
    f.ResyncRequiredFrame,
    '`?since=` is older than the history, or too much to replay: reload state',
  )
  ws('send', 'pong', f.PongFrame, 'Answer to ping')
  ws('send', 'auth_ok', f.AuthOkFrame, 'In-band token refresh accepted')
  ws('receive', 'cursor', f.CursorFrame, 'Cursor position, normalised 0–1')
  ws('receive', 'campaign_event', f.ClientCampaignEventFrame, 'An action, dispatched through Nexus')
  ws('receive', 'ping', f.PingFrame, 'Keep-alive')
  ws('receive', 'auth', f.AuthFrame, 'In-band token refresh (same user, new expiry)')

  const cable = on('cable')
  cable('send', 'welcome', f.CableWelcome, 'Connection accepted')
  cable('send', 'ping', f.CablePing, 'Server heartbeat (every 3 s)')
  cable('send', 'confirm_subscription', f.CableConfirm, 'Subscription accepted')
  cable('send', 'reject_subscription', f.CableReject, 'Subscription refused')
  cable('send', 'disconnect', f.CableDisconnect, 'Server closes the connection')
  cable('receive', 'command', f.CableCommand, 'subscribe / unsubscribe / message')

  const bus = on('bus')
  bus(
    'send',
    'ovasabi:campaign:changed',
    f.CampaignChangedMessage,
    'A campaign changed; every node drops its cached copy',
  )
  bus('send', 'ovasabi:realtime', f.RealtimeBusMessage, 'A frame for the gateways of every node')
  bus(
    'send',
    'ovasabi:realtime:c:{campaign}',
    f.CampaignBusMessage,
    "A frame for one campaign's sockets on every node (campaign_event: with its id)",
  )
  bus(
    'send',
    'ovasabi:rt:cur:{campaign}',
    f.CursorBatchMessage,
    "One node's cursor changes per tick, merged by the other nodes",
  )
  bus('send', 'ovasabi:rt:node-down', f.NodeDownMessage, 'A node was reaped; the others drop its cursors')
  return r
}
