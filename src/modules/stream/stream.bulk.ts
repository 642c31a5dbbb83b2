import type { V1Principal } from './account.service.js'
import { parseStreamInput } from './stream.input.js'
import type { StreamPatch, StreamRow } from './stream.repo.js'
import type { StreamInput, StreamJson } from './stream.schema.js'
import { invalid, notFound } from './v1.errors.js'

/** One item's outcome in a bulk import or batch update. */
export interface ItemResult {
  index: number
  id?: number
  link?: string
  success: boolean
  status: 'created' | 'duplicate' | 'updated' | 'error'
  stream?: StreamJson
  error?: string
  details?: Record<string, string[]>
}

/** The stream service's single-stream steps that bulk operations repeat per item. */
export interface BulkDeps {
  load(id: number): Promise<StreamRow>
  findByLink(key: string): Promise<StreamRow | undefined>
  canCreate(principal: V1Principal): void
  canChange(principal: V1Principal, row: StreamRow): void
  create(principal: V1Principal, input: StreamInput): Promise<{ stream: StreamJson; created: boolean }>
  applyPatch(row: StreamRow, patch: StreamPatch, normalized?: string): Promise<StreamJson>
}

/** Import and batch update: each item on its own, answered per item. */
export function createBulkOperations(deps: BulkDeps) {
  return {
    /** Each item names its stream by `id` or by `link`/`url`; one bad item never fails the others. */
    async batch(principal: V1Principal, items: unknown[]): Promise<ItemResult[]> {
      const results: ItemResult[] = []
      for (const [index, given] of items.entries()) {
        const item = given as StreamInput & { id?: unknown }
        try {
          assertObject(given)
          let row: StreamRow | undefined
          const { id, ...fields } = item
          if (id !== undefined && !(typeof id === 'number' && Number.isInteger(id) && id > 0))
            throw invalid({ id: ['must be a positive integer'] })
          if (id !== undefined) row = await deps.load(id)
          else {
            const { normalized } = parseStreamInput({ link: item.link ?? item.url }, true)
            row = await deps.findByLink(normalized!)
            if (!row) throw notFound()
            delete fields.link
            delete fields.url
          }
          deps.canChange(principal, row)
          const { patch, normalized } = parseStreamInput(fields, false)
          const stream = await deps.applyPatch(row, patch, normalized)
          results.push({ index, id: stream.id, success: true, status: 'updated', stream })
        } catch (err) {
          results.push(failure(index, given, err))
        }
      }
      return results
    },
    async importMany(principal: V1Principal, items: unknown[]): Promise<ItemResult[]> {
      deps.canCreate(principal)
      const results: ItemResult[] = []
      for (const [index, item] of items.entries()) {
        try {
          assertObject(item)
          const { stream, created } = await deps.create(principal, item as StreamInput)
          results.push({
            index,
            id: stream.id,
            success: true,
            status: created ? 'created' : 'duplicate',
            stream,
          })
        } catch (err) {
          results.push(failure(index, item, err))
        }
      }
      return results
    },
  }
}

/** An item is an object of fields; a bare value (a string, null, a list) fails as that item. */
function assertObject(item: unknown): asserts item is Record<string, unknown> {
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    throw invalid({ stream: ['must be an object'] })
}

/** An item's refusal (4xx) as its result; anything else fails the whole request. */
function failure(index: number, given: unknown, err: unknown): ItemResult {
  const e = err as { statusCode?: number; message?: string; fields?: Record<string, string[]> }
  if (typeof e.statusCode !== 'number' || e.statusCode >= 500) throw err
  // Echoed only as what they should have been: the item may hold anything.
  const item = (typeof given === 'object' && given !== null ? given : {}) as Record<string, unknown>
  const link = item.link ?? item.url
  return {
    index,
    ...(Number.isSafeInteger(item.id) ? { id: item.id as number } : {}),
    ...(typeof link === 'string' && link ? { link } : {}),
    success: false,
    status: 'error',
    error: e.message ?? 'Failed',
    ...(e.fields ? { details: e.fields } : {}),
  }
}
