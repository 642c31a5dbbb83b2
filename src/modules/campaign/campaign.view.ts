import { Type } from 'typebox'
import {
  type Campaign,
  campaignStatus,
  displayTitle,
  knownTimeZone,
  type Scheduling,
} from './campaign.schema.js'

// What a session that is not an editor reads of a campaign (`GET /api/campaign/{slug}`).

export const PublicCampaign = Type.Object({
  slug: Type.String(),
  title: Type.String(),
  description: Type.String(),
  status: Type.String(),
  metadata: Type.Object({
    features: Type.Array(Type.String()),
    // Closed here too: the serializer drops any key the view would let through.
    scheduling: Type.Object(
      {
        start: Type.Optional(Type.String()),
        end: Type.Optional(Type.String()),
        frequency: Type.Optional(Type.Number()),
        timezone: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
    tags: Type.Array(Type.String()),
  }),
})

/** An instant a page can hand to `new Date` (see `scheduleInstants`). */
const instant = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v))

/** What each key of the public schedule must be to be shown (a row may predate its check). */
const SHOWN: Record<keyof Scheduling, (value: unknown) => boolean> = {
  start: instant,
  end: instant,
  frequency: (v) => typeof v === 'number' && Number.isFinite(v),
  timezone: (v) => typeof v === 'string',
}

/**
 * The schedule as visitors read it: the keys `scheduling` may hold, and only those (a row stored
 * before it was closed may hold others, which were never meant for the page). A time zone stored
 * before zones were checked (`Berlin`) reads as `UTC`, which a page can hand to `Intl`; the
 * editors' view keeps it as stored, and their next save must name a real one.
 */
export function publicScheduling(c: Pick<Campaign, 'metadata'>): Record<string, unknown> {
  const stored = (c.metadata.scheduling ?? {}) as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const [key, shown] of Object.entries(SHOWN)) if (shown(stored[key])) out[key] = stored[key]
  if (typeof out.timezone === 'string' && !knownTimeZone(out.timezone)) out.timezone = 'UTC'
  return out
}

export function toPublicCampaign(c: Campaign, now = new Date()) {
  return {
    slug: c.slug,
    title: displayTitle(c),
    description: c.description,
    status: campaignStatus(c, now),
    metadata: {
      features: c.metadata.features ?? [],
      scheduling: publicScheduling(c),
      tags: c.metadata.tags ?? [],
    },
  }
}
