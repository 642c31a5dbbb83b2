import sjson from 'secure-json-parse'
import { BadRequestError } from './http/errors.js'

/**
 * JSON text from a client (WebSocket frames, ActionCable commands): like `JSON.parse`, but a
 * `__proto__` or `constructor.prototype` key is an error, as it is for HTTP bodies (Fastify's
 * parser), so no object copied from the result can pick up a prototype the client chose.
 * Throws a SyntaxError on malformed JSON, on those keys, and on strings PostgreSQL cannot store
 * (a NUL, half a surrogate pair).
 */
export function parseUntrustedJson(text: string): unknown {
  if (hasNulEscape(text)) throw new SyntaxError(NUL_REFUSED)
  const value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
  if (hasLoneSurrogateEscape(text, value)) throw new SyntaxError(LONE_SURROGATE_REFUSED)
  if (hasOverflowingNumber(text, value)) throw new SyntaxError(NUMBER_OVERFLOW_REFUSED)
  return value
}

export const NUL_REFUSED = 'JSON strings must not contain the NUL character (\\u0000)'

/**
 * True when a JSON text holds a `\u0000` escape (the only way JSON can carry a NUL): PostgreSQL
 * stores NUL in neither text nor jsonb, so a value holding one would fail at the database, after
 * validation, as a 500. Refused at the door instead. A cheap search first; the exact scan (an
 * escaped backslash followed by `u0000` is no NUL) only when it finds one.
 */
export function hasNulEscape(text: string): boolean {
  let at = text.indexOf('\\u0000')
  while (at !== -1) {
    let backslashes = 0
    for (let i = at - 1; i >= 0 && text.charCodeAt(i) === 92; i--) backslashes++
    if (backslashes % 2 === 0) return true
    at = text.indexOf('\\u0000', at + 1)
  }
  return false
}

/** True when `parseUntrustedJson` refused the text for a prototype key (not for its syntax). */
export function isPrototypeKeyError(err: unknown): boolean {
  return err instanceof SyntaxError && /prototype property/.test(err.message)
}

/** A `\uD800`–`\uDFFF` escape may be in the text: the cheap test before `hasLoneSurrogate`. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/
/** With the `u` flag a well-formed pair is one code point; only a lone half matches. */
const LONE_SURROGATE = /\p{Cs}/u

export const LONE_SURROGATE_REFUSED =
  'JSON strings must not contain half of a UTF-16 surrogate pair (\\uD800-\\uDFFF alone)'

/**
 * True when a string, or a key or string anywhere in a parsed JSON value, holds a lone UTF-16
 * surrogate (`"\ud800"` is valid JSON). PostgreSQL refuses one in jsonb, so a value holding one
 * failed at the database, after validation, as a 500 (and text columns silently get U+FFFD).
 */
export function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value)
  if (typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) return value.some(hasLoneSurrogate)
  for (const key of Object.keys(value)) {
    if (LONE_SURROGATE.test(key) || hasLoneSurrogate((value as Record<string, unknown>)[key])) return true
  }
  return false
}

/** True when a JSON text holds an escaped lone surrogate (a raw one cannot arrive as UTF-8). */
export function hasLoneSurrogateEscape(text: string, parsed: unknown): boolean {
  return SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(parsed)
}

export const NUMBER_OVERFLOW_REFUSED =
  'JSON numbers must fit a double (1e308 at most): 1e400 would be stored as null'

/** A number literal too large for a double may be in the text: an exponent of 3+ digits, 309+ digits. */
const OVERFLOW_HINT = /[eE]\+?\d{3}|\d{309}/

/** True when a number anywhere in a parsed JSON value is not finite (only an overflow makes one). */
function hasNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value)
  if (typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) return value.some(hasNonFinite)
  for (const key of Object.keys(value)) if (hasNonFinite((value as Record<string, unknown>)[key])) return true
  return false
}

/**
 * True when a JSON text holds a number too large for a double (`1e400`, 400 digits): `JSON.parse`
 * reads it as `Infinity`, which JSON cannot write back, so a payload stored as sent (an analytics
 * event, a lead's `metadata`) was stored with `null` in its place and answered as recorded. A
 * cheap search first; the walk only when it finds a candidate (strings may hold such text).
 */
export function hasOverflowingNumber(text: string, parsed: unknown): boolean {
  return OVERFLOW_HINT.test(text) && hasNonFinite(parsed)
}

/** The largest integer every JSON reader here keeps exactly, 2^53 - 1, as text. */
const MAX_SAFE = String(Number.MAX_SAFE_INTEGER)

export const UNSAFE_INTEGER_REFUSED = `JSON integers must be within ±${MAX_SAFE} (2^53 - 1) to keep their value; send larger ones as strings`

/**
 * A number literal that may not be read as written: an exponent of 3+ digits (see
 * `hasOverflowingNumber`) or 16+ digits in a row (an integer past 2^53 - 1 has at least 16). One
 * search of the text on every body; the exact checks run only when it finds one.
 */
const LARGE_NUMBER_HINT = /[eE]\+?\d{3}|\d{16}/

/** Whether `numberRefusal` may refuse this text: the cheap search, for the hot path. */
export function mayHoldLargeNumber(text: string): boolean {
  return LARGE_NUMBER_HINT.test(text)
}

/**
 * Why a JSON text's numbers cannot be kept as sent, or undefined: one past a double
 * (`INVALID_JSON`, see `hasOverflowingNumber`), or an integer literal past 2^53 - 1
 * (`UNSAFE_INTEGER`, its JSON Pointer in `details`): `JSON.parse` reads 9007199254740993 as
 * 9007199254740992, so a payload stored as sent (an order number, a snowflake id) was stored and
 * answered as recorded with another value. Long fractions and exponents are doubles by the
 * sender's own writing, and pass. `text` parsed as `parsed`.
 */
export function numberRefusal(text: string, parsed: unknown): BadRequestError | undefined {
  if (!mayHoldLargeNumber(text)) return undefined
  if (hasOverflowingNumber(text, parsed)) return new BadRequestError(NUMBER_OVERFLOW_REFUSED, 'INVALID_JSON')
  const path = unsafeIntegerPath(text)
  if (path === undefined) return undefined
  return new BadRequestError(UNSAFE_INTEGER_REFUSED, 'UNSAFE_INTEGER', [
    { path, message: `must be an integer within ±${MAX_SAFE}, or a string` },
  ])
}

const isDigit = (c: number) => c >= 48 && c <= 57
/** `- + . 0-9 E e`: the characters of a JSON number literal. */
const isNumberChar = (c: number) => isDigit(c) || c === 45 || c === 43 || c === 46 || c === 69 || c === 101

/**
 * The JSON Pointer (RFC 6901) of the first integer literal (no fraction, no exponent) past
 * 2^53 - 1 in a valid JSON text, or undefined. A scan of the text, not of the parsed value: only
 * the literal tells 12345678901234567 from 1.2345678901234568e16, and a parsed object's order is
 * not the text's (integer-like keys come first).
 */
export function unsafeIntegerPath(text: string): string | undefined {
  // One entry per open container: the key or index of the value being read in it.
  const path: Array<string | number> = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      let end = i + 1
      while (end < text.length && text.charCodeAt(end) !== 34)
        end += text.charCodeAt(end) === 92 /* \ */ ? 2 : 1
      if (expectKey) {
        path[path.length - 1] = JSON.parse(text.slice(i, end + 1)) as string
        expectKey = false
      }
      i = end
    } else if (c === 123 /* { */) {
      path.push('')
      expectKey = true
    } else if (c === 91 /* [ */) path.push(0)
    else if (c === 125 /* } */ || c === 93 /* ] */) {
      path.pop()
      expectKey = false
    } else if (c === 44 /* , */) {
      const last = path[path.length - 1]
      if (typeof last === 'number') path[path.length - 1] = last + 1
      else expectKey = true
    } else if (c === 45 || isDigit(c)) {
      let end = i + 1
      let integer = true
      while (end < text.length && isNumberChar(text.charCodeAt(end))) {
        if (!isDigit(text.charCodeAt(end))) integer = false
        end++
      }
      // More than 15 digits (a sign aside) is the only way past 2^53 - 1; shorter ones cost nothing.
      if (integer && end - i - (c === 45 ? 1 : 0) > 15 && !Number.isSafeInteger(Number(text.slice(i, end))))
        return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
      i = end - 1
    }
  }
  return undefined
}
