/** Fields a collaborator may change through `update_cell`. */
export const CELL_FIELDS: ReadonlySet<string> = new Set([
  'title',
  'notes',
  'status',
  'city',
  'state',
  'source',
  'posted_by',
  'platform',
  'orientation',
  'kind',
  'link',
  'is_pinned',
])

/** A cell of the collaborative spreadsheet: one field of one stream. */
export interface Cell {
  streamId: number
  field: string
}

/**
 * The id StreamSource's spreadsheet gives a cell (`data-cell-id="stream_<id>_<field>"`), so the
 * real client's ids work as they are. One spelling per cell (no leading zeros): the lock is on
 * the id, so two spellings of one cell would be two locks.
 */
export const cellKey = (cell: Cell) => `stream_${cell.streamId}_${cell.field}`

const CELL_ID = /^stream_([1-9][0-9]{0,15})_([a-z_]{1,40})$/

/** The cell an id names, or `undefined` when it is not a cell anyone may edit. */
export function parseCellId(id: unknown): Cell | undefined {
  if (typeof id !== 'string') return undefined
  const m = CELL_ID.exec(id)
  if (!m) return undefined
  const streamId = Number(m[1])
  const field = m[2]!
  if (!Number.isSafeInteger(streamId) || !CELL_FIELDS.has(field)) return undefined
  return { streamId, field }
}

/** The cell `update_cell` names by `stream_id` and `field` (the client sends the id as a string). */
export function cellOf(streamId: unknown, field: unknown): Cell | undefined {
  if (typeof field !== 'string' || !CELL_FIELDS.has(field)) return undefined
  const id =
    typeof streamId === 'number'
      ? streamId
      : typeof streamId === 'string' && /^[1-9][0-9]{0,15}$/.test(streamId)
        ? Number(streamId)
        : Number.NaN
  return Number.isSafeInteger(id) && id > 0 ? { streamId: id, field } : undefined
}
