import { Type } from 'typebox'
import {
  type Campaign,
  campaignStatus,
  displayTitle,
  knownTimeZone,
  type Scheduling,
  scheduleTime,
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

/** What each key of the public schedule must be to be shown (a row may predate its check). */
const SHOWN: Record<Exclude<keyof Scheduling, 'start' | 'end'>, (value: unknown) => boolean> = {
  frequency: (v) => typeof v === 'number' && Number.isFinite(v),
  timezone: (v) => typeof v === 'string',
}

/**
 * `start` or `end` as the server reads it (see `scheduleInstants`): as stored when it names its
 * offset, else (a legacy date or date-time without one, read in the campaign's zone) as that
 * instant in UTC, so a page's `new Date` reads what the server does (it read `"2026-12-01"` as
 * midnight UTC); left out when it cannot be read.
 */
function shownInstant(c: Pick<Campaign, 'metadata'>, key: 'start' | 'end'): string | undefined {
  const read = scheduleTime(c, key)
  if (read === undefined || Number.isNaN(read.at)) return undefined
  if (read.form !== 'instant') return new Date(read.at).toISOString()
  return (c.metadata.scheduling as Record<string, string>)[key]
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
  for (const key of ['start', 'end'] as const) {
    const at = shownInstant(c, key)
    if (at !== undefined) out[key] = at
  }
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
      // Lists of strings only: a row stored before they were checked (`"features": {…}`,
      // `"tags": "spring"`) made this view a 500 for every visitor.
      features: strings(c.metadata.features),
      scheduling: publicScheduling(c),
      tags: strings(c.metadata.tags),
    },
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}
