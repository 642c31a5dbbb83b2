/** RFC 4180 CSV, small and strict enough for stream import/export. */

/** Rows of fields; quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  for (; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i++
        } else quoted = false
      } else field += c
    } else if (c === '"' && field === '') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  if (field !== '' || row.length > 0) {
    row.push(field)
    rows.push(row)
  }
  return rows.filter((r) => r.length > 1 || r[0] !== '')
}

/**
 * CSV rows as objects keyed by the header row, its names as a spreadsheet titles them too
 * (`Posted By` is `posted_by`). A row of empty cells (`,,,`, what spreadsheets export for a blank
 * line) is a blank line, not a row missing its link.
 */
export function csvObjects(text: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(text)
  if (!header) return []
  const keys = header.map((h) =>
    h
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_'),
  )
  return rows
    .filter((r) => r.some((cell) => cell.trim() !== ''))
    .map((r) => Object.fromEntries(keys.map((k, i) => [k, unneutralised(r[i] ?? '')])))
}

/**
 * What a spreadsheet would run as a formula (=, +, -, @, a leading tab or CR), after any quotes
 * `csvField` put before it.
 */
const FORMULA_LIKE = /^'*[=+\-@\t\r]/

/** A cell as it was before `csvField` neutralised it, so an export imports back unchanged. */
function unneutralised(cell: string): string {
  return cell.startsWith("'") && FORMULA_LIKE.test(cell) ? cell.slice(1) : cell
}

/**
 * One CSV field. Values that a spreadsheet would run as a formula are prefixed with a quote, so an
 * exported registry cannot carry a formula-injection payload; so are those already quoted that
 * way (`'=x` is written `''=x`), so the import, which takes one quote off, gives them back.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  let s = String(value)
  if (FORMULA_LIKE.test(s)) s = `'${s}`
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** CRLF-ended lines for these rows, without the header. */
export function csvLines(columns: readonly string[], rows: Array<Record<string, unknown>>): string {
  let out = ''
  for (const r of rows) out += `${columns.map((c) => csvField(r[c])).join(',')}\r\n`
  return out
}

export function toCsv(columns: readonly string[], rows: Array<Record<string, unknown>>): string {
  return `${columns.join(',')}\r\n${csvLines(columns, rows)}`
}
