import type { ActionRegistry } from '../../nexus/registry.js'
import { UploadPayload } from './media.schema.js'
import type { MediaService } from './media.service.js'

export function registerMediaActions(registry: ActionRegistry, media: MediaService): void {
  registry.register<UploadPayload>({
    name: 'media.upload',
    aliases: ['upload_media'],
    description: 'Reserve an upload: returns a signed, expiring, single-use upload URL',
    payload: UploadPayload,
    role: 'guest',
    feature: 'media',
    // The media row commits with the idempotency record: a repeat returns the same URL.
    writes: 'deferred',
    handler: async (ctx, payload) => {
      const reservation = await media.prepare(ctx.campaign, ctx.principal, payload, ctx.ip)
      // Inserted under the storage quotas, which may cut the ticket's max_bytes to what is left.
      ctx.deferGrouped(media.reservations, reservation)
      return { result: reservation.ticket }
    },
  })
}
