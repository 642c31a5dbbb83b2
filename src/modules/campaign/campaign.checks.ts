import { Compile } from 'typebox/compile'
import { ValidationError } from '../../platform/http/errors.js'
import { CampaignMetadata, SCHEDULING_KEYS } from './campaign.schema.js'
import { applyMergePatch } from './merge-patch.js'

// What a campaign must satisfy when it is written, beyond its schema.

/** A merge patch adds to what is stored, so its result is bounded as a whole body is (BODY_LIMIT's default). */
const METADATA_MAX_BYTES = 1024 * 1024
const metadataValidator = Compile(CampaignMetadata)

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
 * A schedule whose end is not after its start takes the campaign from `scheduled` straight to
 * `ended`, never `active`: most likely two swapped dates, refused where they are typed.
 * `stored`, for a merge patch: a time zone stored before zones were checked is not the patch's
 * to answer for while it leaves it as it is (a whole `metadata` naming it again is refused).
 */
export function assertSchedule(metadata: CampaignMetadata | undefined, stored?: CampaignMetadata): void {
  const { start, end, timezone } = metadata?.scheduling ?? {}
  const kept = stored !== undefined && timezone === stored.scheduling?.timezone
  if (timezone !== undefined && !kept && !knownTimeZone(timezone)) {
    throw new ValidationError(`Unknown time zone ${JSON.stringify(timezone)}`, [
      {
        path: '/metadata/scheduling/timezone',
        message: 'must be an IANA time zone, e.g. UTC or Europe/Berlin',
      },
    ])
  }
  for (const [key, at] of [
    ['start', start],
    ['end', end],
  ] as const) {
    // RFC 3339 allows a leap second (`23:59:60Z`), which `Date` cannot read: the instant would be
    // ignored, and the campaign active before its start or after its end.
    if (at !== undefined && Number.isNaN(Date.parse(at))) {
      throw new ValidationError(`scheduling.${key} is not an instant this server can compare`, [
        {
          path: `/metadata/scheduling/${key}`,
          message: 'must be a date-time without a leap second, e.g. 2026-03-29T02:30:00+02:00',
        },
      ])
    }
  }
  if (start && end && Date.parse(end) <= Date.parse(start)) {
    throw new ValidationError('The campaign would end before it starts', [
      { path: '/metadata/scheduling/end', message: 'must be after scheduling.start' },
    ])
  }
}

/**
 * A title of spaces passes `minLength` but names nothing: the console's list and the campaign
 * page showed a blank where it belongs.
 */
export function assertTitle(title: string | undefined): void {
  if (title !== undefined && title.trim() === '') {
    throw new ValidationError('The campaign title is blank', [
      { path: '/title', message: 'must not be blank' },
    ])
  }
}

/**
 * Keys `stored.scheduling` held before it was closed (see `Scheduling`) that the patch leaves
 * alone: kept as they are, and not the patch's to answer for. One it names is checked as typed.
 */
function legacySchedulingKeys(stored: CampaignMetadata, patch: Record<string, unknown>): string[] {
  const held = stored.scheduling as Record<string, unknown> | undefined
  const named = patch.scheduling
  if (!held || (named !== undefined && (typeof named !== 'object' || named === null || Array.isArray(named))))
    return []
  return Object.keys(held).filter(
    (key) => !SCHEDULING_KEYS.includes(key) && !(named !== undefined && Object.hasOwn(named, key)),
  )
}

/**
 * The validator's complaints as the request's paths. An unknown key is named by its own path
 * (`body/metadata/scheduling/colour`), once: TypeBox reports it both there and on its parent.
 */
function metadataErrors(merged: unknown) {
  return [...metadataValidator.Errors(merged)]
    .filter((e) => e.keyword !== 'additionalProperties')
    .map((e) => ({
      path: `body/metadata${e.instancePath}`,
      message: e.schemaPath.endsWith('/additionalProperties') ? 'is not a known property' : e.message,
    }))
}

/** Stored metadata with a merge patch applied, validated as a whole body's metadata is. */
export function mergedMetadata(
  stored: CampaignMetadata,
  patch: Record<string, unknown> | null,
): CampaignMetadata {
  // `"metadata": null` removes the member, which a campaign always has: back to none set.
  const merged = (patch === null ? {} : applyMergePatch(stored, patch)) as Record<string, unknown>
  const legacy = patch === null ? [] : legacySchedulingKeys(stored, patch)
  let checked = merged
  if (legacy.length > 0) {
    const scheduling = { ...(merged.scheduling as Record<string, unknown>) }
    for (const key of legacy) delete scheduling[key]
    checked = { ...merged, scheduling }
  }
  if (!metadataValidator.Check(checked)) {
    throw new ValidationError('The merged campaign metadata is invalid', metadataErrors(checked))
  }
  if (Buffer.byteLength(JSON.stringify(merged)) > METADATA_MAX_BYTES) {
    throw new ValidationError('The merged campaign metadata is too large', [
      { path: 'body/metadata', message: `must be at most ${METADATA_MAX_BYTES} bytes as JSON` },
    ])
  }
  return merged
}
