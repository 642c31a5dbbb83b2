import type { Config } from '../../config.js'
import type { Campaign } from '../campaign/campaign.schema.js'
import { LOCATED_TYPES } from './location.js'
import { DEFAULT_ALLOWED_TYPES } from './media.schema.js'

/** What a campaign's `custom_rules` say about uploads, each falling back to its default. */

/**
 * Names clients send for a type besides the one its bytes are detected as: `image/jpg` (many
 * upload libraries and hand-written clients), `image/pjpeg` and `image/x-png` (old Internet
 * Explorer), `audio/mp3`, and the older names of WAV. Each is checked, stored and served under
 * the usual name (`image/jpg` as `image/jpeg`), in uploads and in `media_allowed_types` alike.
 * An animated PNG is a PNG (browsers call it `image/png` and animate it as one), though its
 * bytes are detected as `image/apng`.
 */
const ALIASES = new Map([
  ['image/jpg', 'image/jpeg'],
  ['image/apng', 'image/png'],
  ['image/pjpeg', 'image/jpeg'],
  ['image/x-png', 'image/png'],
  ['audio/mp3', 'audio/mpeg'],
  ['audio/x-wav', 'audio/wav'],
  ['audio/wave', 'audio/wav'],
  ['audio/vnd.wave', 'audio/wav'],
])

/** A media type without parameters, in lower case, an alias (see `ALIASES`) by its usual name. */
export function normaliseType(type: string): string {
  const bare = type.split(';')[0]!.trim().toLowerCase()
  return ALIASES.get(bare) ?? bare
}

/**
 * What `image/*`, `video/*` or `audio/*` stands for: the types of that kind this server both
 * detects by their bytes and publishes without where they were made (the defaults, and the ISO
 * media it cleans of location: HEIC photos, QuickTime and 3GP films, M4A voice memos). Not every
 * type a browser calls `image/…`: a TIFF carries its GPS position in EXIF that nothing here
 * removes, so a campaign that wants one lists it by name.
 */
const WILDCARD_TYPES = [...new Set([...DEFAULT_ALLOWED_TYPES, ...LOCATED_TYPES])]

/** The types an entry of `media_allowed_types` admits: itself, or a wildcard's (see `WILDCARD_TYPES`). */
function admitted(entry: string): string[] {
  const type = normaliseType(entry)
  const wildcard = /^(image|video|audio)\/\*$/.exec(type)
  return wildcard ? WILDCARD_TYPES.filter((t) => t.startsWith(`${wildcard[1]}/`)) : [type]
}

export function allowedTypes(campaign: Campaign): string[] {
  const rule = campaign.metadata.custom_rules?.media_allowed_types
  return Array.isArray(rule) && rule.every((t) => typeof t === 'string')
    ? [...new Set(rule.flatMap((t) => admitted(t as string)))]
    : DEFAULT_ALLOWED_TYPES
}

export function maxBytes(campaign: Campaign, config: Pick<Config, 'MEDIA_MAX_BYTES'>): number {
  const rule = Number(campaign.metadata.custom_rules?.media_max_bytes)
  return Number.isInteger(rule) && rule > 0 ? Math.min(rule, config.MEDIA_MAX_BYTES) : config.MEDIA_MAX_BYTES
}
