import type { ByteRange } from './storage.js'

/** `text` without the spaces and tabs around it (a regular expression would take quadratic time). */
function withoutOws(text: string): string {
  const ows = (i: number) => text[i] === ' ' || text[i] === '\t'
  let start = 0
  let end = text.length
  while (start < end && ows(start)) start++
  while (end > start && ows(end - 1)) end--
  return text.slice(start, end)
}

/**
 * The bytes one range-spec (`first-last`, `first-` or `-suffix`) selects of an object of `size`
 * bytes, or undefined when it selects none (RFC 9110 §14.1.1: a first byte past the end, a zero
 * suffix or an empty object; and, as one range always was here, a last byte before the first).
 */
function selected(from: string, to: string, size: number): ByteRange | undefined {
  if (from === '') {
    const suffix = Number(to)
    if (suffix === 0 || size === 0) return undefined
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(from)
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1)
  if (start >= size || end < start) return undefined
  return { start, end }
}

/**
 * One `Range: bytes=…` header against an object of `size` bytes: the range to send, `undefined`
 * for the whole object (no header, several ranges of which one at least is satisfiable, which may
 * be answered in full, or a unit other than bytes, which must be ignored: RFC 9110 §14.2), or
 * `'unsatisfiable'` for 416 (no range of the set within the object, RFC 9110 §15.5.17, or a range
 * set that is malformed). The unit is case-insensitive.
 *
 * The range set is a list (RFC 9110 §5.6.1.2): optional whitespace around its commas and empty
 * elements (`bytes=0-1,`) are accepted, and so is whitespace right after `=` (`bytes= 0-1`), as
 * nginx and Express accept it. Whitespace within one range (`0 -1`) is malformed.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | undefined | 'unsatisfiable' {
  if (!header) return undefined
  const value = header.trim()
  if (!/^bytes=/i.test(value)) return undefined
  const specs = value
    .slice('bytes='.length)
    .split(',')
    .map(withoutOws)
    .filter((spec) => spec !== '')
  const ranges = specs.map((spec) => /^(\d*)-(\d*)$/.exec(spec))
  if (ranges.length === 0 || ranges.some((m) => !m || (m[1] === '' && m[2] === ''))) return 'unsatisfiable'
  const wanted = ranges.map((m) => selected(m![1]!, m![2]!, size))
  if (wanted.every((range) => range === undefined)) return 'unsatisfiable'
  return wanted.length === 1 ? wanted[0] : undefined
}

/**
 * Whether a GET or HEAD is answered 304 Not Modified (RFC 9110 §13.1.2, §13.1.3, §13.2.2):
 * `If-None-Match` names the entity tag (weak comparison) or is `*`; only when it is absent,
 * `If-Modified-Since` is no earlier than `lastModified`, in the whole seconds HTTP dates carry.
 * An unparseable date is ignored.
 */
export function notModified(
  headers: { 'if-none-match'?: string; 'if-modified-since'?: string },
  etag: string | undefined,
  lastModified: Date,
): boolean {
  const ifNoneMatch = headers['if-none-match']
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true
    if (!etag) return false
    const opaque = (tag: string) => tag.replace(/^W\//, '')
    // Matched as tags, not split on commas: a comma may sit inside a quoted tag.
    return (ifNoneMatch.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === opaque(etag))
  }
  const since = headers['if-modified-since']
  if (since === undefined) return false
  const date = Date.parse(since)
  return !Number.isNaN(date) && Math.floor(lastModified.getTime() / 1000) * 1000 <= date
}

/**
 * Whether a `Range` is to be read under `If-Range` (RFC 9110 §13.1.5): there is none, or it names
 * the current validator, the entity tag by strong comparison (a weak tag never matches) or exactly
 * the `Last-Modified` date. Otherwise the Range must be ignored and the whole file sent, so a
 * client never splices a part of this file into another version it holds.
 */
export function rangeApplies(
  ifRange: string | undefined,
  etag: string | undefined,
  lastModified: Date,
): boolean {
  if (ifRange === undefined) return true
  const value = ifRange.trim()
  if (value.startsWith('"') || value.startsWith('W/')) return etag !== undefined && value === etag
  return Date.parse(value) === Math.floor(lastModified.getTime() / 1000) * 1000
}

/** `Content-Disposition` with an ASCII fallback and the exact UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

/**
 * The file name extensions of the types served by default (and a few close ones), and of those a
 * campaign may accept that uploads are cleaned of (HEIF, and the MP4 family: see `location.ts`).
 */
const EXTENSIONS: Record<string, string[]> = {
  'image/jpeg': ['jpg', 'jpeg', 'jpe', 'jfif'],
  'image/png': ['png', 'apng'],
  'image/gif': ['gif'],
  'image/webp': ['webp'],
  'image/avif': ['avif'],
  'video/mp4': ['mp4', 'm4v'],
  'video/webm': ['webm'],
  'video/quicktime': ['mov', 'qt'],
  'audio/mpeg': ['mp3', 'mpga'],
  'audio/ogg': ['ogg', 'oga', 'opus', 'spx'],
  'audio/wav': ['wav'],
  'application/pdf': ['pdf'],
  'image/heic': ['heic', 'hif'],
  'image/heif': ['heif', 'heic', 'hif'],
  'image/heic-sequence': ['heics', 'heic'],
  'image/heif-sequence': ['heifs', 'heif'],
  'video/3gpp': ['3gp', '3gpp'],
  'video/3gpp2': ['3g2', '3gp2'],
  'video/x-m4v': ['m4v', 'mp4'],
  'audio/mp4': ['m4a', 'mp4'],
  'audio/x-m4a': ['m4a'],
}

/**
 * The name a download is saved under: the uploader's, with the extension of what is really
 * served appended when its own says otherwise. The uploader names the file; the bytes were
 * checked against the type only, so `page.html` holding a PDF must not be saved as `.html`
 * (a browser would open it as a page). Names of types not listed above are kept as they are.
 */
export function downloadName(filename: string, contentType: string): string {
  const extensions = EXTENSIONS[contentType]
  if (!extensions) return filename
  const dot = filename.lastIndexOf('.')
  const ext = dot > 0 ? filename.slice(dot + 1).toLowerCase() : ''
  return extensions.includes(ext) ? filename : `${filename}.${extensions[0]}`
}
