import { detectPlatform, normalizeLink, PLATFORMS } from './stream.links.js'
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

export interface ParsedInput {
  patch: StreamPatch
  /** Set when the input names a link. */
  normalized?: string
}

function text(value: unknown): string | null | undefined {
  if (value === undefined) return undefined
  if (value === null) return null
  const t = String(value).trim()
  return t === '' ? null : t
}

function time(value: unknown, field: string, fields: Record<string, string[]>): Date | null | undefined {
  if (value === undefined) return undefined
  if (value === null || value === '') return null
  const d = new Date(String(value))
  if (Number.isNaN(d.getTime())) {
    fields[field] = ['is not a valid datetime']
    return undefined
  }
  return d
}

/**
 * Client fields → column values, or a 422 naming every bad field. `creating` requires the link.
 * Unknown fields are ignored (StreamSource permits a fixed set and drops the rest).
 */
export function parseStreamInput(input: StreamInput, creating: boolean): ParsedInput {
  const fields: Record<string, string[]> = {}
  const patch: StreamPatch = {}
  let normalized: string | undefined

  const link = input.link ?? input.url
  if (link !== undefined) {
    normalized = normalizeLink(link)
    if (!normalized) fields.link = ['must be a valid HTTP or HTTPS URL']
    else patch.link = link.trim()
  } else if (creating) fields.link = ["can't be blank", 'must be a valid HTTP or HTTPS URL']

  if (input.status !== undefined) {
    const s = input.status.trim().toLowerCase()
    const status = (STATUSES as readonly string[]).includes(s) ? s : STATUS_ALIASES[s]
    if (!status) fields.status = [`is not included in the list (${STATUSES.join(', ')})`]
    else patch.status = status
  }
  if (input.platform !== undefined && input.platform !== null && input.platform !== '') {
    const p = input.platform.trim().toLowerCase()
    if (!(PLATFORMS as readonly string[]).includes(p))
      fields.platform = [`is not included in the list (${PLATFORMS.join(', ')})`]
    else patch.platform = p
  } else if (patch.link !== undefined) patch.platform = detectPlatform(patch.link)
  if (input.kind !== undefined) {
    const k = input.kind.trim().toLowerCase()
    if (!(KINDS as readonly string[]).includes(k))
      fields.kind = [`is not included in the list (${KINDS.join(', ')})`]
    else patch.kind = k
  }
  if (input.orientation !== undefined) {
    const o = text(input.orientation)?.toLowerCase() ?? null
    if (o !== null && !(ORIENTATIONS as readonly string[]).includes(o))
      fields.orientation = [`is not included in the list (${ORIENTATIONS.join(', ')})`]
    else patch.orientation = o
  }
  for (const key of ['source', 'city', 'state', 'notes', 'title', 'posted_by'] as const) {
    const v = text(input[key])
    if (v !== undefined) patch[key] = v
  }
  if (input.is_pinned !== undefined) patch.is_pinned = input.is_pinned
  if (input.is_archived !== undefined) patch.is_archived = input.is_archived
  const checked = time(input.last_checked_at ?? input.last_checked, 'last_checked_at', fields)
  if (checked !== undefined) patch.last_checked_at = checked
  const liveAt = time(input.last_live_at, 'last_live_at', fields)
  if (liveAt !== undefined) patch.last_live_at = liveAt

  if (Object.keys(fields).length) throw invalid(fields)
  return { patch, normalized }
}
