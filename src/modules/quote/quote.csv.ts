import type { LeadView } from './quote.schema.js'

/**
 * Cells a spreadsheet would read as a formula (OWASP CSV injection): = + - @ first, also after
 * leading whitespace or line breaks (which importers that trim cells, as Google Sheets and
 * LibreOffice can, strip first), and any leading tab or CR. The fullwidth forms ＝ ＋ － ＠
 * (U+FF1D, U+FF0B, U+FF0D, U+FF20) and the small forms ﹦ ﹢ ﹣ ﹫ (U+FE66, U+FE62, U+FE63,
 * U+FE6B) count as theirs: spreadsheets fold compatibility forms (NFKC, East Asian input) into
 * the ASCII signs, and so into a formula. (`\s` covers the ideographic space U+3000 too.)
 */
const FORMULA_LIKE = /^(?:[\t\r]|\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20\uFE66\uFE62\uFE63\uFE6B])/

/** One CSV cell: a formula-like one gets a leading apostrophe; quotes are doubled. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  let s = typeof value === 'object' ? JSON.stringify(value) : String(value)
  if (FORMULA_LIKE.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s
}

export const CSV_COLUMNS = [
  'id',
  'created_at',
  'updated_at',
  'status',
  'name',
  'email',
  'company',
  'phone',
  'budget',
  'interest',
  'locale',
  'consent',
  'submissions',
  'message',
  'metadata',
] as const satisfies Array<keyof LeadView>

/** RFC 4180 lines (CRLF ends) for these leads, without the header. */
function csvLines(leads: LeadView[]): string {
  let out = ''
  for (const lead of leads) out += `${CSV_COLUMNS.map((c) => csvCell(lead[c])).join(',')}\r\n`
  return out
}

/** RFC 4180 text with CRLF line ends and a header row. */
export function leadsToCsv(leads: LeadView[]): string {
  return `${CSV_COLUMNS.join(',')}\r\n${csvLines(leads)}`
}

/** The same text, a chunk per page of leads as they are read (the header first). */
export async function* leadsToCsvChunks(pages: AsyncIterable<LeadView[]>): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`
  for await (const leads of pages) yield csvLines(leads)
}
