import type { LeadView } from './quote.schema.js'

/**
 * One CSV cell. Cells a spreadsheet would read as a formula (= + - @, or a leading tab/CR that
 * some apps strip first) get a leading apostrophe (OWASP CSV injection); quotes are doubled.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  let s = typeof value === 'object' ? JSON.stringify(value) : String(value)
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
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

/** RFC 4180 text with CRLF line ends and a header row. */
export function leadsToCsv(leads: LeadView[]): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const lead of leads) lines.push(CSV_COLUMNS.map((c) => csvCell(lead[c])).join(','))
  return `${lines.join('\r\n')}\r\n`
}
