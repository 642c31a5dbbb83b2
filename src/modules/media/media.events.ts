import type { Audience, RealtimePublisher } from '../../realtime/publish.js'
import type { MediaRow } from './media.repo.js'

/** Who hears of an upload: its uploader, as a user or as the guest session it came from. */
export function audienceOf(row: MediaRow): Audience {
  return row.owner_user_id === 'guest'
    ? { scope: 'session', campaign: row.campaign_slug, session_id: row.owner_session_id }
    : { scope: 'user', campaign: row.campaign_slug, user_id: row.owner_user_id }
}

/**
 * Tells the uploader where its upload is (`media_event`: uploading, processing, ready, failed).
 * Never rejects: an event that cannot be sent does not change what happened to the upload.
 */
export function publishStatus(
  publisher: RealtimePublisher,
  row: MediaRow,
  status: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  return publisher
    .publish(audienceOf(row), {
      type: 'media_event',
      campaign_id: row.campaign_slug,
      media_id: row.id,
      status,
      ...extra,
    })
    .catch(() => {})
}
