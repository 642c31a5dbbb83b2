import type { Campaign, OvasabiClient } from '../../../client/index.js'

/** Campaigns per request: the most `GET /api/campaign` gives at once (`per_page` ≤ 200). */
const PER_REQUEST = 200

/**
 * Every campaign, archived too, newest first, read page by page: a picker fed one page of the
 * list offered only its first 100, and an admin with more could not pick the rest. A campaign
 * made while the pages are read pushes the ones after it down a page; it is kept once.
 */
export async function allCampaigns(client: OvasabiClient): Promise<Campaign[]> {
  const bySlug = new Map<string, Campaign>()
  for (let page = 1; ; page++) {
    const d = await client.campaigns.list({ include_archived: true, page, per_page: PER_REQUEST })
    for (const c of d.campaigns) if (!bySlug.has(c.slug)) bySlug.set(c.slug, c)
    if (d.campaigns.length < PER_REQUEST || page * PER_REQUEST >= d.total) return [...bySlug.values()]
  }
}
