import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { hasMarkPile, isBlank, MAX_COMBINING_MARKS } from '../../platform/text.js'

import { FEATURES } from './features.js'
import { readScheduleTime, type ScheduleTime } from './schedule-time.js'

export { FEATURES, type Feature } from './features.js'

/** Broadcast frequency bounds (Hz). */
export const MIN_FREQUENCY = 0.1
export const MAX_FREQUENCY = 60

const IsoDate = Type.String({ format: 'date-time' })

const Count = (minimum: number, maximum = 2_147_483_647) => Type.Integer({ minimum, maximum })

/**
 * `referral_qualifies_on` values that qualify a referral as soon as it is applied (the referred
 * person has joined by then). Part of the rules' vocabulary, so the campaign checks and the
 * referral service read one list, and the campaign module depends on no module that reads it.
 */
export const AT_APPLY_RULES: readonly string[] = [
  'register',
  'user.register',
  'apply',
  'referral.apply',
  'apply_referral',
]

/**
 * The event a person's email verification logs in every campaign they joined: a
 * `referral_qualifies_on` rule too (a referral drive counting only people who confirmed their
 * address). No dot, so no visitor can send it as a tracked event.
 */
export const EMAIL_VERIFIED_EVENT = 'email_verified'

/**
 * `custom_rules`: free-form, but the rules the modules read are checked when a campaign is
 * written, so a typo (`max_referrals: "10"`, `-1`) is a 400 naming the rule rather than a limit
 * silently off; so is a key within a typo of one (`leaderbord_size`, see `assertCustomRules`).
 * Each reader still falls back to its default on anything else (older rows).
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
    verify_email_at_join: Type.Optional(Type.Boolean()),
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
 * `null` removes a key; the merged metadata is then validated as `CampaignMetadata`. A top-level
 * `null` removes the member too, which a campaign always has: `description` and `draft` go back to
 * what a campaign created without them holds (`""`, `false`), `metadata` to none set, `version` is
 * no precondition, and `title`, which has no default, is refused naming `/title`
 * (see `mergePatchFields`). Typed as nullable so the refusal can say why, not "must be string".
 */
export const MergePatchCampaignBody = Type.Object(
  {
    title: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
    draft: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    metadata: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
    version: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
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

/**
 * Where a campaign read with a `metadata` column that is not a JSON object keeps what the column
 * held: non-enumerable, so a copy, a merge, a comparison or JSON never carries it.
 */
const STORED_AS = Symbol('metadata as stored')

/**
 * A `metadata` column as services read it: always an object. One that is not (JSON `null`, a
 * string, an array, a number: a hand edit or an older version) reads as none set (`{}`), so every
 * reader (visitors' views, actions, sockets, the stats broadcaster, sweeps) applies its defaults
 * rather than fail on `null.features`; `storedProblems` names it at `/metadata` to editors.
 */
export function metadataFromColumn(value: unknown): Campaign['metadata'] {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Campaign['metadata']
  return Object.defineProperty({}, STORED_AS, { value, enumerable: false })
}

/** What the `metadata` column held when it was not a JSON object (see `metadataFromColumn`). */
export function metadataNotAnObject(metadata: object): { stored: unknown } | undefined {
  return Object.hasOwn(metadata, STORED_AS)
    ? { stored: (metadata as Record<symbol, unknown>)[STORED_AS] }
    : undefined
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
 * The zone a stored date or date-time without an offset is read in: the campaign's
 * `scheduling.timezone`, or `UTC` when it has none or one `Intl` does not know (as visitors read it).
 */
export function scheduleZone(c: Pick<Campaign, 'metadata'>): string {
  const zone = (c.metadata.scheduling as Record<string, unknown> | undefined)?.timezone
  return typeof zone === 'string' && knownTimeZone(zone) ? zone : 'UTC'
}

/**
 * A stored `scheduling.start` or `end` as read (see `readScheduleTime`): undefined when unset;
 * `at` NaN when set to something this server cannot read.
 */
export function scheduleTime(c: Pick<Campaign, 'metadata'>, key: 'start' | 'end'): ScheduleTime | undefined {
  const v = ((c.metadata.scheduling ?? {}) as Record<string, unknown>)[key]
  if (v === undefined || v === null) return undefined
  return typeof v === 'string' ? readScheduleTime(v, scheduleZone(c)) : { at: Number.NaN, form: 'instant' }
}

/**
 * The schedule's `start` and `end` as instants (ms): undefined when unset, NaN when set to
 * something this server cannot read (a row stored before they were checked: `"next tuesday"`,
 * `"31/06/2026"`, `"2026-02-30"`, a number). A legacy date alone (`"2026-12-01"`) or date-time
 * without an offset (`"2026-12-01T09:00"`) is read in the campaign's time zone (`UTC` without a
 * known one), never in the server's: midnight starting that day there, that wall-clock time
 * there. It stays open as it was, although a patch must then restate it as a date-time with an
 * offset (the editors' view names it in `problems`, with the instant it is read as).
 */
export function scheduleInstants(c: Pick<Campaign, 'metadata'>): { start?: number; end?: number } {
  return { start: scheduleTime(c, 'start')?.at, end: scheduleTime(c, 'end')?.at }
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

export interface CampaignProblem {
  path: string
  message: string
  /**
   * Kept while a patch leaves it alone (an unknown time zone, which visitors read as `UTC`);
   * anything else must be fixed by the next patch, whatever that patch names.
   */
  kept?: true
}

const storedMetadataCheck = Compile(CampaignMetadata)

/** An instant as RFC 3339, in `zone`'s offset when it is whole minutes (else UTC). */
function rfc3339In(at: number, zone: string): string {
  const utc = new Date(at).toISOString()
  try {
    return withOffset(at, zone) ?? utc
  } catch {
    return utc
  }
}

function withOffset(at: number, zone: string): string | undefined {
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(new Date(at))
      .find((p) => p.type === 'timeZoneName')?.value ?? ''
  const m = /^GMT([+-]\d{2}:\d{2})$/.exec(name)
  if (!m) return name === 'GMT' ? new Date(at).toISOString() : undefined
  const sign = m[1]!.startsWith('-') ? -1 : 1
  const offset = sign * (Number(m[1]!.slice(1, 3)) * 60 + Number(m[1]!.slice(4, 6))) * 60_000
  const local = new Date(at + offset).toISOString().replace(/\.000Z$|Z$/, '')
  return `${local}${m[1]}`
}

/**
 * What a campaign stored before its checks existed holds that editors must fix, by the path a
 * patch names: a schedule that cannot be read (the campaign is held as a draft meanwhile), a date
 * or date-time without an offset (read in the campaign's zone meanwhile, see `scheduleInstants`),
 * a time zone no one knows (visitors read `UTC` meanwhile), and any other value today's checks
 * refuse (`features` not a list, a tag not a string, an out-of-range frequency…), which a patch
 * must fix even when it names only the title: it would otherwise save the campaign as valid.
 * Keys `scheduling` held before it was closed are not problems: they are kept, and never shown.
 */
export function storedProblems(c: Pick<Campaign, 'metadata'>): CampaignProblem[] {
  const shape = metadataNotAnObject(c.metadata)
  if (shape) {
    let held = JSON.stringify(shape.stored) ?? String(shape.stored)
    if (held.length > 60) held = `${held.slice(0, 59)}…`
    return [
      {
        path: '/metadata',
        message:
          `must be a JSON object; ${held} was stored before this was checked, and reads as no metadata ` +
          '(every setting at its default) until a patch sets it (as `application/merge-patch+json`, ' +
          '`"metadata": null` stores none set)',
      },
    ]
  }
  const problems: CampaignProblem[] = []
  const zone = scheduleZone(c)
  for (const key of ['start', 'end'] as const) {
    const read = scheduleTime(c, key)
    if (read === undefined) continue
    const path = `/metadata/scheduling/${key}`
    if (Number.isNaN(read.at)) {
      problems.push({
        path,
        message:
          'cannot be read as an instant: the campaign is held as a draft, closed to visitors, until it is ' +
          'set to a date-time (e.g. 2026-03-29T02:30:00+02:00) or removed',
      })
    } else if (read.form !== 'instant') {
      const as = rfc3339In(read.at, zone)
      problems.push({
        path,
        message:
          `${read.form === 'date' ? 'is a date without a time: read as the start of that day' : 'has no offset: read as that wall-clock time'} ` +
          `in ${zone}${zone === 'UTC' ? ' (the campaign has no known time zone)' : ''}, ${as}; ` +
          `a patch must set it to a date-time with an offset (e.g. ${as}) or remove it`,
      })
    }
  }
  const scheduling = c.metadata.scheduling as unknown
  const storedZone = (scheduling as Record<string, unknown> | undefined)?.timezone
  if (typeof storedZone === 'string' && !knownTimeZone(storedZone)) {
    problems.push({
      path: '/metadata/scheduling/timezone',
      message: 'is not an IANA time zone: visitors read UTC until it is set to one, e.g. Europe/Berlin',
      kept: true,
    })
  }
  // The rest as a whole body's metadata is checked, keys `scheduling` held before it was closed aside.
  let checked = c.metadata as Record<string, unknown>
  if (typeof scheduling === 'object' && scheduling !== null && !Array.isArray(scheduling)) {
    const own = Object.entries(scheduling).filter(([key]) => SCHEDULING_KEYS.includes(key))
    checked = { ...checked, scheduling: Object.fromEntries(own) }
  }
  const named = new Set(problems.map((p) => p.path))
  for (const e of storedMetadataCheck.Errors(checked)) {
    if (e.keyword === 'additionalProperties') continue
    const path = `/metadata${e.instancePath}`
    if (named.has(path)) continue
    named.add(path)
    const message = e.schemaPath.endsWith('/additionalProperties') ? 'is not a known property' : e.message
    problems.push({ path, message: `${message} (stored before this was checked)` })
  }
  const { start, end } = scheduleInstants(c)
  if (start !== undefined && end !== undefined && end <= start && !named.has('/metadata/scheduling/end')) {
    problems.push({
      path: '/metadata/scheduling/end',
      message: 'must be after scheduling.start: the campaign ends before it starts',
    })
  }
  const tags = c.metadata.tags as unknown
  if (Array.isArray(tags)) {
    for (const [i, tag] of tags.entries()) {
      const path = `/metadata/tags/${i}`
      if (typeof tag === 'string' && hasMarkPile(tag) && !named.has(path))
        problems.push({
          path,
          message: `must not stack more than ${MAX_COMBINING_MARKS} combining marks on one character`,
        })
    }
  }
  return problems
}

/** `storedProblems` as the editors' view shows them (`problems`). */
export function campaignProblems(c: Pick<Campaign, 'metadata'>): Array<{ path: string; message: string }> {
  return storedProblems(c).map(({ path, message }) => ({ path, message }))
}

/**
 * Whether `metadata.features` lists `feature` (a row stored before it was checked may hold no
 * list). Readers of the column itself (the referral rechecks read the row as committed, past the
 * campaign service) may hand it a `metadata` that is JSON `null`: no feature is on then.
 */
export function hasFeature(c: Pick<Campaign, 'metadata'>, feature: string): boolean {
  const features = (c.metadata as Campaign['metadata'] | null)?.features as unknown
  return Array.isArray(features) && features.includes(feature)
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
  return isBlank(c.title) ? c.slug : c.title
}

/** The editors' view; `problems` as `CampaignService.problems` finds them, which also checks the rules. */
export function toCampaignResponse(c: Campaign, problems = campaignProblems(c), now = new Date()) {
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
