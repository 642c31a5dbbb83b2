import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { SecuredBy } from '../../platform/http/schemas.js'
import { STATUS_WORDS, statusAlias } from './stream.input.js'
import { normalizeLink, PLATFORMS } from './stream.links.js'
import type { StreamFilters } from './stream.repo.js'
import { V1Error as V1ErrorSchema } from './stream.schema.js'
import { invalid, notFound } from './v1.errors.js'
import { requireV1, V1_ROUTE_CONFIG } from './v1.plugin.js'

/** What every `/streams` route shares: its OpenAPI tags and security, the v1 guard (before the input). */
export const tags = ['streamsource']
export const security = SecuredBy
/**
 * The error answers a route lists; one that checks a caller (401) can also answer 503, when the
 * accounts could not be read to check it (`v1.plugin.ts`).
 */
export const err = (...codes: number[]) =>
  Object.fromEntries([...codes, ...(codes.includes(401) ? [503] : [])].map((c) => [c, V1ErrorSchema]))
export const route = () => ({ config: V1_ROUTE_CONFIG, onRequest: requireV1 })

export const IdParams = Type.Object({ id: Type.String({ maxLength: 20 }) })
/** The stream id in the path; anything but digits is a stream that does not exist. */
export const id = (request: FastifyRequest) => {
  const raw = (request.params as { id: string }).id
  if (!/^\d{1,15}$/.test(raw)) throw notFound()
  return Number(raw)
}

export const ListQuery = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 32 })),
  notStatus: Type.Optional(Type.String({ maxLength: 32 })),
  user_id: Type.Optional(Type.String({ maxLength: 20 })),
  is_pinned: Type.Optional(Type.String({ maxLength: 5 })),
  pinned: Type.Optional(Type.String({ maxLength: 5, description: 'Alias of is_pinned' })),
  is_archived: Type.Optional(Type.String({ maxLength: 5 })),
  link: Type.Optional(Type.String({ maxLength: 2048 })),
  url: Type.Optional(Type.String({ maxLength: 2048, description: 'Alias of link' })),
  platform: Type.Optional(Type.String({ maxLength: 32 })),
  search: Type.Optional(Type.String({ maxLength: 200 })),
  sort: Type.Optional(
    Type.String({ maxLength: 16, description: 'Any case: `name`, `-name`, `created` or `-created`' }),
  ),
  page: Type.Optional(Type.String({ maxLength: 10 })),
  per_page: Type.Optional(Type.String({ maxLength: 10 })),
  format: Type.Optional(
    Type.String({
      maxLength: 8,
      description: 'Any case: `json` (default) or `array` on the list, `json` or `csv` on the export',
    }),
  ),
})
export type ListQuery = Record<string, string | undefined>

function bool(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined || value === '') return undefined
  if (['true', '1', 'yes'].includes(value.toLowerCase())) return true
  if (['false', '0', 'no'].includes(value.toLowerCase())) return false
  throw invalid({ [field]: ['must be true or false'] })
}

export function positive(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1)
    throw invalid({ [field]: ['must be a positive integer'] })
  return Number(value)
}

/**
 * The `format` asked for, in any case (`CSV`); one the route does not answer in is a 422, not
 * silently JSON (a `format=CSV` export saved JSON as `.json`, a `format=ARRAY` wall got an object).
 */
export function answerFormat<T extends string>(
  value: string | undefined,
  formats: readonly T[],
): T | undefined {
  if (value === undefined || value === '') return undefined
  const lower = value.trim().toLowerCase()
  if (!(formats as readonly string[]).includes(lower))
    throw invalid({ format: [`is not included in the list (${formats.join(', ')})`] })
  return lower as T
}

/** Query string → repository filters; every filter of StreamSource's index. */
export function filters(q: ListQuery): StreamFilters {
  const link = q.link ?? q.url
  let normalizedLink: string | undefined
  if (link !== undefined) {
    // A link that cannot be normalised matches nothing rather than everything.
    normalizedLink = normalizeLink(link) ?? `invalid:${link}`
  }
  // A checker filters by the status words it writes (`online`, `checking`…), stored as their alias.
  // An unknown word is a 422, as an unknown `sort` or `format`: `notStatus=ofline` showed every
  // offline stream on a wall meant to hide them, `status=onlnie` an empty wall, and nothing said why.
  const status = (s: string | undefined, field: 'status' | 'notStatus') => {
    const lower = s?.trim().toLowerCase()
    if (!lower) return undefined
    const known = statusAlias(lower)
    if (known === undefined)
      throw invalid({ [field]: [`is not included in the list (${STATUS_WORDS.join(', ')})`] })
    return known
  }
  const platform = q.platform?.trim().toLowerCase()
  if (platform && !(PLATFORMS as readonly string[]).includes(platform))
    throw invalid({ platform: [`is not included in the list (${PLATFORMS.join(', ')})`] })
  return {
    status: status(q.status, 'status'),
    notStatus: status(q.notStatus, 'notStatus'),
    userId: positive(q.user_id, 'user_id'),
    isPinned: bool(q.is_pinned ?? q.pinned, 'is_pinned'),
    isArchived: bool(q.is_archived, 'is_archived'),
    normalizedLink,
    platform: platform || undefined,
    search: q.search?.trim() || undefined,
    sort: sortOrder(q.sort),
  }
}

const SORTS = ['name', '-name', 'created', '-created'] as const

/**
 * The order asked for, read as `format` is (any case, trimmed). An unknown one is a 422 naming the
 * four there are: StreamSource fell back to its default order in silence, so a wall asking
 * `sort=title` showed "pinned, then newest" and could not tell its order was never applied.
 */
function sortOrder(value: string | undefined): StreamFilters['sort'] {
  const lower = value?.trim().toLowerCase()
  if (!lower) return undefined
  if (!(SORTS as readonly string[]).includes(lower))
    throw invalid({ sort: [`is not included in the list (${SORTS.join(', ')})`] })
  return lower as StreamFilters['sort']
}
