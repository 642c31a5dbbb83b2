import type { FastifyInstance } from 'fastify'
import {
  hasLoneSurrogateEscape,
  hasNulEscape,
  hasOverflowingNumber,
  LONE_SURROGATE_REFUSED,
  NUL_REFUSED,
  NUMBER_OVERFLOW_REFUSED,
} from '../json.js'
import { BadRequestError, UnsupportedMediaTypeError } from './errors.js'

/**
 * Depth of the deepest array/object in a JSON text, found in one pass without parsing, so a
 * deeply nested body is refused before `JSON.parse` spends stack on it.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      depth++
      if (depth > max) {
        max = depth
        if (max > limit) return max
      }
    } else if (c === 125 || c === 93) depth--
  }
  return max
}

/**
 * JSON bodies: prototype-poisoning safe (Fastify's parser), depth-limited, `INVALID_JSON` when
 * malformed or when a number overflows a double (see `hasOverflowingNumber`), `INVALID_CHARACTER`
 * when a string holds a NUL (see `hasNulEscape`) or a lone surrogate (see `hasLoneSurrogate`).
 */
export function registerJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(
    /^application\/([\w.+-]+\+)?json$/,
    { parseAs: 'string' },
    (request, body, done) => {
      const coding = contentCoding(request.headers['content-encoding'])
      if (coding !== undefined) {
        done(
          new UnsupportedMediaTypeError(
            `Content-Encoding ${JSON.stringify(coding)} is not supported; send the JSON uncompressed`,
            'UNSUPPORTED_CONTENT_ENCODING',
            { 'accept-encoding': 'identity' },
          ),
          undefined,
        )
        return
      }
      const text = body as string
      if (jsonDepth(text, maxDepth) > maxDepth) {
        done(new BadRequestError(`JSON is nested deeper than ${maxDepth} levels`, 'JSON_TOO_DEEP'), undefined)
        return
      }
      if (hasNulEscape(text)) {
        done(new BadRequestError(NUL_REFUSED, 'INVALID_CHARACTER'), undefined)
        return
      }
      parse(request, text, (err, value) => {
        if (err) {
          // Fastify's parser reports both alike: JSON that parses was refused for a key that could
          // reach an object's prototype, and is told so.
          const message = parsesAsJson(text)
            ? 'Bodies must not carry "__proto__" or "constructor.prototype" keys'
            : 'Body is not valid JSON'
          done(new BadRequestError(message, 'INVALID_JSON'), undefined)
        } else if (hasLoneSurrogateEscape(text, value))
          done(new BadRequestError(LONE_SURROGATE_REFUSED, 'INVALID_CHARACTER'), undefined)
        else if (hasOverflowingNumber(text, value))
          done(new BadRequestError(NUMBER_OVERFLOW_REFUSED, 'INVALID_JSON'), undefined)
        else done(null, value)
      })
    },
  )
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * The body's content coding when it is one this server does not undo (anything but `identity`):
 * a gzip body read as text is bytes that are no JSON, or, worse, were once answered as something
 * else than what was sent. RFC 7694: 415, naming what is accepted. Undefined for none.
 */
function contentCoding(header: string | string[] | undefined): string | undefined {
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim().toLowerCase()
  if (value === '' || value === 'identity') return undefined
  return value
}
