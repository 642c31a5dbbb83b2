import sjson from 'secure-json-parse'

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
