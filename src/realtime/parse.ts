import type { RawData } from 'ws'
import { type AppError, BadRequestError, ValidationError } from '../platform/http/errors.js'
import { jsonDepth } from '../platform/http/json-parser.js'
import {
  isPrototypeKeyError,
  LONE_SURROGATE_REFUSED,
  NUL_REFUSED,
  NUMBER_OVERFLOW_REFUSED,
  numberRefusal,
  parseUntrustedJson,
} from '../platform/json.js'

/**
 * A client frame read: an object with a `type` string, or the error it is refused with. `ack`
 * names the `request_id` of a refused `campaign_event`: the refusal then goes back as its
 * `update_ack`, which the client waits for (an `error` frame would leave its dispatch to time out).
 */
export type ReadFrame = { frame: Record<string, unknown> } | { refused: AppError; ack?: string }

/**
 * Read a client frame under the rules REST bodies meet (`registerJsonParser`), with the same codes:
 * nested deeper than `maxDepth` is `JSON_TOO_DEEP` (refused before the checks that walk the value
 * recursively), a NUL or half a surrogate pair is `INVALID_CHARACTER`, an integer past 2^53 - 1
 * `UNSAFE_INTEGER` (naming its path), text that is no JSON and
 * prototype keys are `INVALID_JSON`, JSON values that are no object with a `type` string (the
 * wrong shape) are `VALIDATION_FAILED`. A binary frame is `UNSUPPORTED_FRAME`, unread: the
 * protocol's frames are JSON text, and `VALIDATION_FAILED` would blame its JSON's shape.
 */
export function readFrame(data: RawData, isBinary: boolean, maxDepth: number): ReadFrame {
  if (isBinary)
    return {
      refused: new BadRequestError('Binary frames are not accepted; send JSON text', 'UNSUPPORTED_FRAME'),
    }
  const text = data.toString()
  let value: unknown
  try {
    if (jsonDepth(text, maxDepth) > maxDepth) {
      throw new BadRequestError(`JSON is nested deeper than ${maxDepth} levels`, 'JSON_TOO_DEEP')
    }
    value = parseUntrustedJson(text)
    // An integer past 2^53 - 1, read as another value: `UNSAFE_INTEGER`, as over REST.
    const unsafe = numberRefusal(text, value)
    if (unsafe) throw unsafe
  } catch (err) {
    return { refused: refusal(err), ack: actionRequestId(text) }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { refused: new ValidationError('Frames are JSON objects with a "type"') }
  }
  const frame = value as Record<string, unknown>
  if (typeof frame.type !== 'string' || frame.type === '') {
    return {
      refused: new ValidationError('Frames are JSON objects with a "type"', [
        { path: '/type', message: 'must be a non-empty string' },
      ]),
    }
  }
  return { frame }
}

function refusal(err: unknown): AppError {
  if (err instanceof BadRequestError) return err
  const message = err instanceof Error ? err.message : ''
  if (message === NUL_REFUSED || message === LONE_SURROGATE_REFUSED) {
    return new BadRequestError(message, 'INVALID_CHARACTER')
  }
  if (message === NUMBER_OVERFLOW_REFUSED) return new BadRequestError(message, 'INVALID_JSON')
  return new BadRequestError(
    isPrototypeKeyError(err)
      ? 'Frames must not carry "__proto__" or "constructor.prototype" keys'
      : 'Frame is not valid JSON',
    'INVALID_JSON',
  )
}

/**
 * The `request_id` of a refused frame that is a `campaign_event`, read with the engine's own
 * parser (iterative, so depth costs it no stack; only two fields of the result are read, so a
 * prototype key in it reaches nothing). Undefined when the text is no such JSON.
 */
function actionRequestId(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as { type?: unknown; request_id?: unknown } | null
    if (typeof v !== 'object' || v === null || v.type !== 'campaign_event') return undefined
    return typeof v.request_id === 'string' && v.request_id !== '' ? v.request_id : undefined
  } catch {
    return undefined
  }
}
