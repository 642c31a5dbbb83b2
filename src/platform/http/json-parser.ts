import { isUtf8 } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import {
  hasLoneSurrogateEscape,
  hasNulEscape,
  LONE_SURROGATE_REFUSED,
  NUL_REFUSED,
  numberRefusal,
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
 * The JSON media types, as Fastify tests a parser's pattern: against its normal form of the
 * Content-Type, parameters included (`application/json; charset="utf-8"`). Any parameter is taken;
 * the charset is judged by `charsetRefused`.
 */
const JSON_TYPES = /^application\/([\w.+-]+\+)?json(;|$)/

/** A `charset` parameter's value, unquoted, when the Content-Type has one. */
function charsetOf(contentType: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]
}

/**
 * JSON is UTF-8 (RFC 8259 §8.1): a body said to be in another charset is refused (415, as
 * Express's body-parser does) rather than read as UTF-8, which would store other text than sent.
 */
function charsetRefused(contentType: string | undefined): UnsupportedMediaTypeError | undefined {
  const charset = charsetOf(contentType)
  if (charset === undefined || /^utf-?8$/i.test(charset)) return undefined
  const named = charset.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)
  return new UnsupportedMediaTypeError(
    `JSON bodies are UTF-8; charset ${JSON.stringify(named)} is not supported: send charset=utf-8 or none`,
  )
}

/**
 * JSON bodies: any JSON media type with any parameters, in UTF-8 (a BOM is dropped), else 415
 * (another charset named) or 400 `INVALID_CHARACTER` (bytes that are not UTF-8, which decoding
 * would turn into U+FFFD and store as such); prototype-poisoning safe (Fastify's parser),
 * depth-limited, `INVALID_JSON` when malformed or when a number overflows a double,
 * `UNSAFE_INTEGER` for an integer past 2^53 - 1 (see `numberRefusal`), `INVALID_CHARACTER` when a
 * string holds a NUL (see `hasNulEscape`) or a lone surrogate (see `hasLoneSurrogate`).
 */
export function registerJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(
    JSON_TYPES,
    // Bytes, so that those which are no UTF-8 are refused rather than replaced by U+FFFD.
    { parseAs: 'buffer' },
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
      const charsetError = charsetRefused(request.headers['content-type'])
      if (charsetError) {
        done(charsetError, undefined)
        return
      }
      const bytes = body as Buffer
      if (!isUtf8(bytes)) {
        done(new BadRequestError(NOT_UTF8, 'INVALID_CHARACTER'), undefined)
        return
      }
      const text = bytes.toString('utf8')
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
        else {
          const refused = numberRefusal(text, value)
          if (refused) done(refused, undefined)
          else done(null, value)
        }
      })
    },
  )
}

const NOT_UTF8 = 'Body is not valid UTF-8; JSON is sent as UTF-8 (RFC 8259)'

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
