import sjson from 'secure-json-parse'

/**
 * JSON text from a client (WebSocket frames, ActionCable commands): like `JSON.parse`, but a
 * `__proto__` or `constructor.prototype` key is an error, as it is for HTTP bodies (Fastify's
 * parser), so no object copied from the result can pick up a prototype the client chose.
 * Throws a SyntaxError on malformed JSON and on those keys.
 */
export function parseUntrustedJson(text: string): unknown {
  if (hasNulEscape(text)) throw new SyntaxError(NUL_REFUSED)
  return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
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
