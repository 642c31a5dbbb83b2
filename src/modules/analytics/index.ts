import { Type } from 'typebox'
import type { Envelope } from '../../nexus/envelope.js'
import type { ActionRegistry } from '../../nexus/registry.js'
import { PayloadTooLargeError } from '../../platform/http/errors.js'
import type { ModuleManifest } from '../../platform/module.js'

export const manifest: ModuleManifest = {
  name: 'analytics',
  version: '1.0.0',
  description: 'Tracks any dotted campaign event (content.create, media.play…) in the analytics log',
  capabilities: ['analytics.track', 'analytics.counters'],
  dependencies: ['nexus', 'database'],
  endpoints: [],
  actions: ['analytics.track'],
  events: [],
  tables: ['service_analytics_event', 'service_campaign_counter'],
  features: ['analytics'],
}

/**
 * The most a tracked event logs, its payload and its metadata (but the server's `versioning`) as
 * JSON: what one WebSocket message can carry (`WS_MAX_PAYLOAD`'s default), so REST, whose body
 * limit is a mebibyte, takes no more. Every guest may send tracked events, and the log keeps them.
 */
export const TRACKED_EVENT_MAX_BYTES = 16 * 1024

/** The bytes of `envelope`'s payload and metadata (but `versioning`) as JSON. */
function loggedBytes(envelope: Pick<Envelope, 'payload' | 'metadata'>): number {
  const { versioning: _, ...metadata } = envelope.metadata ?? {}
  return (
    Buffer.byteLength(JSON.stringify(envelope.payload ?? null)) + Buffer.byteLength(JSON.stringify(metadata))
  )
}

/**
 * Any dotted event no module registered is recorded when the campaign has `analytics`. The
 * dispatcher already appends every accepted envelope to the log, so the handler only answers, and
 * refuses an event too large to log (413; its write is deferred, so nothing is logged or counted).
 */
export function registerActions(registry: ActionRegistry): void {
  registry.registerFallback({
    name: 'analytics.track',
    description: 'Record a tracked event (any dotted name)',
    payload: Type.Unknown(),
    role: 'guest',
    feature: 'analytics',
    writes: 'deferred',
    handler: async (ctx) => {
      const bytes = loggedBytes(ctx.envelope)
      if (bytes > TRACKED_EVENT_MAX_BYTES) {
        throw new PayloadTooLargeError(
          `A tracked event's payload and metadata may take at most ${TRACKED_EVENT_MAX_BYTES / 1024} KiB ` +
            `as JSON; this one takes ${bytes} bytes`,
        )
      }
      return { result: { recorded: true, event: ctx.envelope.event, event_id: ctx.envelope.request_id } }
    },
  })
}
