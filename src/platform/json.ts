import sjson from 'secure-json-parse'

/**
 * JSON text from a client (WebSocket frames, ActionCable commands): like `JSON.parse`, but a
 * `__proto__` or `constructor.prototype` key is an error, as it is for HTTP bodies (Fastify's
 * parser), so no object copied from the result can pick up a prototype the client chose.
 * Throws a SyntaxError on malformed JSON and on those keys.
 */
export function parseUntrustedJson(text: string): unknown {
  return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
}

/** True when `parseUntrustedJson` refused the text for a prototype key (not for its syntax). */
export function isPrototypeKeyError(err: unknown): boolean {
  return err instanceof SyntaxError && /prototype property/.test(err.message)
}
