import { Type, type Static } from 'typebox'

import { FEATURES } from './features.js'

export { FEATURES, type Feature } from './features.js'

/** Broadcast frequency bounds (Hz). */
export const MIN_FREQUENCY = 0.1
export const MAX_FREQUENCY = 60

const IsoDate = Type.String({ format: 'date-time' })

const Count = (minimum: number, maximum = 2_147_483_647) => Type.Integer({ minimum, maximum })

/**
 * `custom_rules`: free-form, but the rules the modules read are checked when a campaign is
 * written, so a typo (`max_referrals: "10"`, `-1`) is a 400 naming the rule rather than a limit
 * silently off. Each reader still falls back to its default on anything else (older rows).
 */
export const CustomRules = Type.Object(
  {
    block_disposable_emails: Type.Optional(Type.Boolean()),
    quote_rate_limit: Type.Optional(
      Type.Object(
        { max: Type.Optional(Count(1)), window_seconds: Type.Optional(Count(1, 86_400 * 30)) },
        { additionalProperties: false },
      ),
    ),
    max_referrals: Type.Optional(Count(0)),
    max_referrals_per_ip: Type.Optional(Count(1)),
    referral_milestones: Type.Optional(Type.Array(Count(1), { maxItems: 100 })),
    referral_qualifies_on: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    public_counters: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 }),
    ),
    leaderboard_size: Type.Optional(Count(1, 100)),
    media_allowed_types: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 }),
    ),
    media_max_bytes: Type.Optional(Count(1, Number.MAX_SAFE_INTEGER)),
    max_cursors: Type.Optional(Count(1, 1000)),
  },
  { additionalProperties: true },
)

/**
 * `metadata.scheduling`, closed like the rest of metadata: an unknown key (`frequncy`, `colour`)
 * is a 400 naming it rather than stored and shown on the public view. Rows stored before it was
 * closed may still hold others: readers leave them out (see `campaign.view.ts`).
 */
export const Scheduling = Type.Object(
  {
    start: Type.Optional(IsoDate),
    end: Type.Optional(IsoDate),
    /**
     * Broadcast ticks per second for presence (as the console allows: 0.1–60). A tick every
     * few seconds at most: rarer ones held back a new socket's first figures, and a rate so
     * small that its period overflows a timer (1e-9) made the room tick every millisecond.
     */
    frequency: Type.Optional(Type.Number({ minimum: MIN_FREQUENCY, maximum: MAX_FREQUENCY })),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
)
export type Scheduling = Static<typeof Scheduling>
/** The keys `metadata.scheduling` may hold. */
export const SCHEDULING_KEYS: readonly string[] = Object.keys(Scheduling.properties)

/** The seed metadata pattern, validated. Unknown top-level keys are refused so typos surface. */
export const CampaignMetadata = Type.Object(
  {
    scheduling: Type.Optional(Scheduling),
    features: Type.Optional(Type.Array(Type.Enum([...FEATURES]), { maxItems: 32, uniqueItems: true })),
    custom_rules: Type.Optional(CustomRules),
    audit: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 })),
    service_specific: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    knowledge_graph: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    versioning: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
)
export type CampaignMetadata = Static<typeof CampaignMetadata>

export const Slug = Type.String({
  pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
  description: 'lower-case letters, digits, _ and -',
})

export const CampaignStatus = Type.Union([
  Type.Literal('draft'),
  Type.Literal('scheduled'),
  Type.Literal('active'),
  Type.Literal('ended'),
  Type.Literal('archived'),
])
export type CampaignStatus = Static<typeof CampaignStatus>

export const CreateCampaignBody = Type.Object(
  {
    slug: Slug,
    title: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    draft: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(CampaignMetadata),
  },
  { additionalProperties: false },
)
export type CreateCampaignBody = Static<typeof CreateCampaignBody>

export const UpdateCampaignBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    draft: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(CampaignMetadata),
    /** Optimistic concurrency: refuse the change when the campaign moved on. */
    version: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateCampaignBody = Static<typeof UpdateCampaignBody>

/**
 * `PATCH` as `application/merge-patch+json` (RFC 7396): `metadata` merges into what is stored,
 * `null` removes a key; the merged metadata is then validated as `CampaignMetadata`.
 */
export const MergePatchCampaignBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    draft: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
    version: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type MergePatchCampaignBody = Static<typeof MergePatchCampaignBody>

export const CampaignResponse = Type.Object({
  id: Type.Integer(),
  slug: Type.String(),
  title: Type.String(),
  description: Type.String(),
  status: CampaignStatus,
  draft: Type.Boolean(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  version: Type.Integer(),
  created_by: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  archived_at: Type.Union([Type.String(), Type.Null()]),
  problems: Type.Optional(
    Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
      description:
        'Only when there are some: what a row stored before its checks existed holds that must be ' +
        'fixed (e.g. a schedule that cannot be read, which holds the campaign as a draft), by path',
    }),
  ),
})

/** A campaign as services see it. */
export interface Campaign {
  id: number
  slug: string
  title: string
  description: string
  draft: boolean
  metadata: CampaignMetadata & Record<string, unknown>
  version: number
  created_by: string
  created_at: Date
  updated_at: Date
  archived_at: Date | null
}

/** A zone `Intl` knows (IANA names and `UTC`): "EST5" or "Berlin" was stored as typed and meant nothing. */
export function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/**
 * The schedule's `start` and `end` as instants (ms): undefined when unset, NaN when set to
 * something this server cannot read (a row stored before they were checked: `"next tuesday"`,
 * `"31/06/2026"`, a number). Read as `Date.parse` reads: a legacy `"2026-01-01"` or
 * `"2026-06-31T00:00:00Z"` names an instant (midnight UTC; July 1st) and stays open as it was,
 * although a patch must then restate it as a valid date-time.
 */
export function scheduleInstants(c: Pick<Campaign, 'metadata'>): { start?: number; end?: number } {
  const stored = (c.metadata.scheduling ?? {}) as Record<string, unknown>
  const read = (v: unknown) =>
    v === undefined || v === null ? undefined : typeof v === 'string' ? Date.parse(v) : Number.NaN
  return { start: read(stored.start), end: read(stored.end) }
}

/** The schedule keys set to something this server cannot read. */
export function unreadableSchedule(c: Pick<Campaign, 'metadata'>): Array<'start' | 'end'> {
  const { start, end } = scheduleInstants(c)
  return (['start', 'end'] as const).filter((key) => Number.isNaN(key === 'start' ? start : end))
}

/**
 * Status is derived at request time, in UTC, from the flags and the schedule. A schedule that
 * cannot be read (see `scheduleInstants`) might have meant "not yet" or "over": the campaign is
 * held as a `draft`, closed to visitors and open to its editors, until a patch fixes it (the
 * editors' view names the key in `problems`). Read as no schedule, it was open.
 */
export function campaignStatus(
  c: Pick<Campaign, 'draft' | 'archived_at' | 'metadata'>,
  now = new Date(),
): CampaignStatus {
  if (c.archived_at) return 'archived'
  if (c.draft) return 'draft'
  const { start, end } = scheduleInstants(c)
  if (Number.isNaN(start) || Number.isNaN(end)) return 'draft'
  if (start !== undefined && now.getTime() < start) return 'scheduled'
  if (end !== undefined && now.getTime() >= end) return 'ended'
  return 'active'
}

/**
 * What editors must fix in a campaign stored before its checks existed, by the path a patch
 * names: a schedule that cannot be read (the campaign is held as a draft meanwhile) and a time
 * zone no one knows (visitors read `UTC` meanwhile).
 */
export function campaignProblems(c: Pick<Campaign, 'metadata'>): Array<{ path: string; message: string }> {
  const problems = unreadableSchedule(c).map((key) => ({
    path: `/metadata/scheduling/${key}`,
    message:
      'cannot be read as an instant: the campaign is held as a draft, closed to visitors, until it is ' +
      'set to a date-time (e.g. 2026-03-29T02:30:00+02:00) or removed',
  }))
  const zone = (c.metadata.scheduling as Record<string, unknown> | undefined)?.timezone
  if (zone !== undefined && (typeof zone !== 'string' || !knownTimeZone(zone))) {
    problems.push({
      path: '/metadata/scheduling/timezone',
      message: 'is not an IANA time zone: visitors read UTC until it is set to one, e.g. Europe/Berlin',
    })
  }
  return problems
}

export function hasFeature(c: Pick<Campaign, 'metadata'>, feature: string): boolean {
  return (c.metadata.features as string[] | undefined)?.includes(feature) ?? false
}

/**
 * Broadcast frequency in Hz: `metadata.scheduling.frequency`, default 1, within 0.1–60 (a row
 * written before the minimum was checked is read at the minimum).
 */
export function tickRate(c: Pick<Campaign, 'metadata'>): number {
  const f = Number(c.metadata.scheduling?.frequency ?? 1)
  return Number.isFinite(f) && f > 0 ? Math.min(Math.max(f, MIN_FREQUENCY), MAX_FREQUENCY) : 1
}

/**
 * The campaign's title as shown: its slug while the stored one is blank (written before blank
 * titles were refused), so the console's list and the campaign page name it. The next save of
 * the console's form stores that name; the audit trail keeps what was stored.
 */
export function displayTitle(c: Pick<Campaign, 'slug' | 'title'>): string {
  return c.title.trim() === '' ? c.slug : c.title
}

export function toCampaignResponse(c: Campaign, now = new Date()) {
  const problems = campaignProblems(c)
  return {
    id: c.id,
    slug: c.slug,
    title: displayTitle(c),
    description: c.description,
    status: campaignStatus(c, now),
    draft: c.draft,
    metadata: c.metadata,
    version: c.version,
    created_by: c.created_by,
    created_at: c.created_at.toISOString(),
    updated_at: c.updated_at.toISOString(),
    archived_at: c.archived_at ? c.archived_at.toISOString() : null,
    ...(problems.length > 0 ? { problems } : {}),
  }
}
