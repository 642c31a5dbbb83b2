import type { AccountService } from './account.service.js'
import type { StreamRow } from './stream.repo.js'
import type { LiveStatus, StreamJson } from './stream.schema.js'

/** Rows as the API shows them, each with its creator's account (one read for all of them). */
export async function toStreamJson(
  rows: StreamRow[],
  accounts: Pick<AccountService, 'accounts'>,
): Promise<StreamJson[]> {
  const users = await accounts.accounts(rows.flatMap((r) => (r.user_id == null ? [] : [Number(r.user_id)])))
  return rows.map((r) => ({
    id: Number(r.id),
    source: r.source,
    link: r.link,
    url: r.link,
    status: r.status as StreamJson['status'],
    is_pinned: r.is_pinned,
    is_archived: r.is_archived,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    city: r.city,
    state: r.state,
    platform: r.platform as StreamJson['platform'],
    notes: r.notes,
    title: r.title,
    last_checked_at: r.last_checked_at?.toISOString() ?? null,
    last_live_at: r.last_live_at?.toISOString() ?? null,
    posted_by: r.campaign_slug ? null : r.posted_by, // a campaign stream's is its streamer (below)
    orientation: r.orientation,
    kind: r.kind as StreamJson['kind'],
    user_id: r.user_id == null ? null : Number(r.user_id),
    user: r.user_id == null ? null : (users.get(Number(r.user_id)) ?? null),
    // Not the campaign person who streams (`owner_id`, also stored as `posted_by`): the campaign's
    // own visitors are never told who that is, and registry accounts could tie one person's
    // streams together across campaigns.
    campaign:
      r.campaign_slug && r.live_status
        ? { slug: r.campaign_slug, live_status: r.live_status as LiveStatus }
        : null,
  }))
}
