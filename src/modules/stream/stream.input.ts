import {
  detectPlatform,
  hasInvisibleCharacters,
  normalizeLink,
  PLATFORMS,
  parseHttpUrl,
} from './stream.links.js'
import type { StreamPatch } from './stream.repo.js'
import { KINDS, ORIENTATIONS, STATUSES, type StreamInput } from './stream.schema.js'
import { invalid } from './v1.errors.js'

/** Statuses older checkers send, mapped onto StreamSource's three. */
const STATUS_ALIASES: Record<string, (typeof STATUSES)[number]> = {
  checking: 'unknown',
  pending: 'unknown',
  online: 'live',
  streaming: 'live',
  ended: 'offline',
}

/** Every status word taken, StreamSource's three first: for the answer that refuses another. */
export const STATUS_WORDS: readonly string[] = [...STATUSES, ...Object.keys(STATUS_ALIASES)]

/** The status a word stands for (lower case), or undefined; `constructor` is no status. */
export function statusAlias(word: string): string | undefined {
  if ((STATUSES as readonly string[]).includes(word)) return word
  return Object.hasOwn(STATUS_ALIASES, word) ? STATUS_ALIASES[word] : undefined
}

/**
 * Longest value of each text field. The route schemas say the same for JSON bodies, but CSV
 * imports and `/cable` cell edits reach this parser without them, so it checks on its own.
 */
const MAX_LENGTH = {
  link: 2048,
  source: 255,
  city: 255,
  state: 255,
  posted_by: 255,
  title: 500,
  notes: 10_000,
  status: 32,
  platform: 32,
  kind: 32,
  orientation: 32,
  last_checked_at: 64,
  last_live_at: 64,
} as const
/** One line: no C0/C1 control character (an ESC sequence recolours a terminal, a log viewer). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
/** Notes are text: tabs and line breaks are kept, other control characters refused. */
const TEXT_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/
/** Timestamps PostgreSQL stores and clients can show; out of it, a bad value, not a 500. */
const EARLIEST = Date.UTC(1970, 0, 1)
const LATEST = Date.UTC(10_000, 0, 1)

export interface ParsedInput {
  patch: StreamPatch
  /** Set when the input names a link. */
  normalized?: string
}

/**
 * A string field: undefined when absent, null when cleared (null or blank), else the trimmed
 * string; anything else is recorded as a problem with the field.
 */
function text(
  input: Record<string, unknown>,
  key: keyof typeof MAX_LENGTH,
  fields: Record<string, string[]>,
  options: { nullable?: boolean; multiline?: boolean } = {},
): string | null | undefined {
  const value = input[key]
  if (value === undefined) return undefined
  if (value === null && options.nullable !== false) return null
  if (typeof value !== 'string') {
    fields[key] = ['must be a string']
    return undefined
  }
  if ([...value].length > MAX_LENGTH[key]) {
    fields[key] = [`is too long (maximum is ${MAX_LENGTH[key]} characters)`]
    return undefined
  }
  // Checked once trimmed: a cell pasted with its trailing line break is still one line.
  const t = value.trim()
  if ((options.multiline ? TEXT_CONTROL : CONTROL).test(t)) {
    fields[key] = ['must not contain control characters']
    return undefined
  }
  return t === '' && options.nullable !== false ? null : t
}

function time(
  input: Record<string, unknown>,
  key: 'last_checked_at' | 'last_live_at',
  fields: Record<string, string[]>,
): Date | null | undefined {
  const value = text(input, key, fields)
  if (value === undefined || value === null) return value
  const t = parseTime(value)
  if (t === undefined || t < EARLIEST || t >= LATEST) {
    fields[key] = ['is not a valid datetime']
    return undefined
  }
  return new Date(t)
}

/**
 * ISO 8601 (`2024-01-01`, `2024-01-01T12:00:00.5Z`, `2024-01-01 12:00 +02:00`, Ruby's
 * `2024-01-01 12:00:00 UTC`) and HTTP dates (`Mon, 01 Jan 2024 12:00:00 GMT`), each part checked:
 * `Date`'s own parser took `1` for 2001, `foo 1` too, rolled `2024-02-30` over to March and read a
 * time without zone in the server's zone. Without a zone, a time is UTC (as StreamSource's).
 */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?: ?(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?$/i
const HTTP_TIME =
  /^(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? (Z|UTC|GMT|[+-]\d{4})$/i
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']

/** Milliseconds since the epoch for a time written as above, or undefined. */
export function parseTime(value: string): number | undefined {
  const iso = ISO_TIME.exec(value)
  const http = iso ? null : HTTP_TIME.exec(value)
  type Parts = {
    y: string
    mo: number
    d: string
    h?: string
    mi?: string
    s?: string
    ms?: string
    zone?: string
  }
  let p: Parts
  if (iso)
    p = {
      y: iso[1]!,
      mo: Number(iso[2]),
      d: iso[3]!,
      h: iso[4],
      mi: iso[5],
      s: iso[6],
      ms: iso[7],
      zone: iso[8],
    }
  else if (http)
    p = {
      y: http[3]!,
      mo: MONTHS.indexOf(http[2]!.toLowerCase()) + 1,
      d: http[1]!,
      h: http[4],
      mi: http[5],
      s: http[6],
      zone: http[7],
    }
  else return undefined
  const [year, day, hour, minute, second] = [p.y, p.d, p.h ?? '0', p.mi ?? '0', p.s ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ]
  const month = p.mo
  const zone = p.zone ?? 'Z'
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined
  let offset = 0
  if (/^[+-]/.test(zone)) {
    const digits = zone.slice(1).replace(':', '')
    const [oh, om] = [Number(digits.slice(0, 2)), Number(digits.slice(2) || '0')]
    if (oh > 14 || om > 59) return undefined
    offset = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000
  }
  const ms = Number((p.ms ?? '').padEnd(3, '0').slice(0, 3))
  const utc = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms))
  utc.setUTCFullYear(year) // Date.UTC reads years 0–99 as 1900–1999
  return utc.getTime() - offset
}

function oneOf(
  input: Record<string, unknown>,
  key: 'status' | 'platform' | 'kind' | 'orientation',
  allowed: readonly string[],
  fields: Record<string, string[]>,
): string | null | undefined {
  const v = text(input, key, fields)
  if (v === undefined || v === null) return v
  const lower = v.toLowerCase()
  const found = key === 'status' ? statusAlias(lower) : allowed.includes(lower) ? lower : undefined
  if (!found) fields[key] = [`is not included in the list (${allowed.join(', ')})`]
  return found
}

function bool(
  input: Record<string, unknown>,
  key: 'is_pinned' | 'is_archived',
  fields: Record<string, string[]>,
) {
  const v = input[key]
  if (v === undefined || typeof v === 'boolean') return v
  fields[key] = ['must be true or false']
  return undefined
}

/**
 * Client fields → column values, or a 422 naming every bad field. `creating` requires the link.
 * Unknown fields are ignored (StreamSource permits a fixed set and drops the rest). Every value is
 * checked here (type, length, characters), whichever way it came: JSON, CSV or a `/cable` edit.
 */
export function parseStreamInput(input: StreamInput, creating: boolean): ParsedInput {
  const raw = input as Record<string, unknown>
  const fields: Record<string, string[]> = {}
  const patch: StreamPatch = {}
  let normalized: string | undefined

  // `url` is the older clients' name for the link.
  const link = text({ link: raw.link ?? raw.url }, 'link', fields, { nullable: false })
  if (typeof link === 'string') {
    normalized = normalizeLink(link)
    const url = normalized ? parseHttpUrl(link) : undefined
    if (!normalized) fields.link = ['must be a valid HTTP or HTTPS URL']
    // A duplicate of a listed link in all but an invisible character (see `hasInvisibleCharacters`).
    else if (hasInvisibleCharacters(link))
      fields.link = ['must not contain invisible characters (zero-width spaces, soft hyphens…)']
    // A user name or password would be shown to every reader of the list and of `/cable`, and
    // `https://twitch.tv@evil.example/` reads as Twitch while the wall opens `evil.example`.
    else if (url?.username || url?.password) fields.link = ['must not contain a user name or password']
    else patch.link = link
  } else if (link === undefined && creating && !fields.link)
    fields.link = ["can't be blank", 'must be a valid HTTP or HTTPS URL']

  // Status, platform and kind always hold a value: blank is not one of theirs.
  const status = oneOf(raw, 'status', STATUSES, fields)
  if (status === null) fields.status = [`is not included in the list (${STATUSES.join(', ')})`]
  else if (status !== undefined) patch.status = status
  const platform = oneOf(raw, 'platform', PLATFORMS, fields)
  if (typeof platform === 'string') patch.platform = platform
  else if (!fields.platform && patch.link !== undefined) patch.platform = detectPlatform(patch.link)
  const kind = oneOf(raw, 'kind', KINDS, fields)
  if (kind === null) fields.kind = [`is not included in the list (${KINDS.join(', ')})`]
  else if (kind !== undefined) patch.kind = kind
  const orientation = oneOf(raw, 'orientation', ORIENTATIONS, fields)
  if (orientation !== undefined) patch.orientation = orientation

  for (const key of ['source', 'city', 'state', 'title', 'posted_by'] as const) {
    const v = text(raw, key, fields)
    if (v !== undefined) patch[key] = v
  }
  const notes = text(raw, 'notes', fields, { multiline: true })
  if (notes !== undefined) patch.notes = notes
  const pinned = bool(raw, 'is_pinned', fields)
  if (pinned !== undefined) patch.is_pinned = pinned
  const archived = bool(raw, 'is_archived', fields)
  if (archived !== undefined) patch.is_archived = archived
  const checked =
    raw.last_checked_at !== undefined
      ? time(raw, 'last_checked_at', fields)
      : time({ last_checked_at: raw.last_checked }, 'last_checked_at', fields)
  if (checked !== undefined) patch.last_checked_at = checked
  const liveAt = time(raw, 'last_live_at', fields)
  if (liveAt !== undefined) patch.last_live_at = liveAt

  if (Object.keys(fields).length) throw invalid(fields)
  return { patch, normalized }
}
