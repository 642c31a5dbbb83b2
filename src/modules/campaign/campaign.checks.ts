import { Compile } from 'typebox/compile'
import { ValidationError } from '../../platform/http/errors.js'
import { CampaignMetadata } from './campaign.schema.js'
import { applyMergePatch } from './merge-patch.js'

// What a campaign must satisfy when it is written, beyond its schema.

/** A merge patch adds to what is stored, so its result is bounded as a whole body is (BODY_LIMIT's default). */
const METADATA_MAX_BYTES = 1024 * 1024
const metadataValidator = Compile(CampaignMetadata)

/** A zone `Intl` knows (IANA names and `UTC`): "EST5" or "Berlin" was stored as typed and meant nothing. */
function knownTimeZone(zone: string): boolean {
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
 */
export function assertSchedule(metadata: CampaignMetadata | undefined): void {
  const { start, end, timezone } = metadata?.scheduling ?? {}
  if (timezone !== undefined && !knownTimeZone(timezone)) {
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

/** Stored metadata with a merge patch applied, validated as a whole body's metadata is. */
export function mergedMetadata(
  stored: CampaignMetadata,
  patch: Record<string, unknown> | null,
): CampaignMetadata {
  // `"metadata": null` removes the member, which a campaign always has: back to none set.
  const merged = (patch === null ? {} : applyMergePatch(stored, patch)) as Record<string, unknown>
  if (!metadataValidator.Check(merged)) {
    const details = [...metadataValidator.Errors(merged)].map((e) => ({
      path: `body/metadata${e.instancePath}`,
      message: e.message,
    }))
    throw new ValidationError('The merged campaign metadata is invalid', details)
  }
  if (Buffer.byteLength(JSON.stringify(merged)) > METADATA_MAX_BYTES) {
    throw new ValidationError('The merged campaign metadata is too large', [
      { path: 'body/metadata', message: `must be at most ${METADATA_MAX_BYTES} bytes as JSON` },
    ])
  }
  return merged
}
