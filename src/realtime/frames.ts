import { AppError } from '../platform/http/errors.js'

/** Serialise a frame once; the same buffer is written to every socket it is for. */
export function encode(frame: object): Buffer {
  return Buffer.from(JSON.stringify(frame))
}

/** The `error` frame: the same codes as REST errors. */
export function errorFrame(err: unknown, requestId?: string): Buffer {
  const e = err instanceof AppError ? err : new AppError(500, 'INTERNAL', 'Internal error')
  const frame: Record<string, unknown> = { type: 'error', code: e.code, message: e.message }
  if (requestId) frame.request_id = requestId
  if (e.details !== undefined) frame.details = e.details
  return encode(frame)
}

/**
 * The `error` frame of a socket whose frames are being dropped for its rate: once per flood window,
 * so a client learns that frames it sent (dispatches among them) may not have been read, and when
 * it may send again.
 */
export function rateLimitedFrame(ratePerSecond: number, retryAfterMs: number): Buffer {
  return encode({
    type: 'error',
    code: 'RATE_LIMITED',
    message: `Over ${ratePerSecond} messages per second: frames are being dropped`,
    retry_after_ms: retryAfterMs,
  })
}

/**
 * `update_ack` for an action the dispatcher refused before it ran (it acks the rest itself). A
 * refusal that tells when to send again (REST's `Retry-After`: `REQUEST_IN_PROGRESS`, a rate
 * limit) says it as the `RATE_LIMITED` error frame does: `retry_after_ms`.
 */
export function refusedAck(err: unknown, requestId: string): Buffer {
  const e = err instanceof AppError ? err : new AppError(500, 'INTERNAL', 'Internal error')
  const error: Record<string, unknown> = { code: e.code, message: e.message }
  if (e.details !== undefined) error.details = e.details
  const retryAfter = Number(e.headers?.['retry-after'])
  if (e.headers?.['retry-after'] && Number.isInteger(retryAfter) && retryAfter >= 0)
    error.retry_after_ms = retryAfter * 1000
  return encode({ type: 'update_ack', request_id: requestId, status: 'error', error })
}

/** A cursor coordinate: a finite number in [0, 1], kept to 4 decimals (sub-pixel on any screen). */
export function coordinate(v: unknown): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) return undefined
  return Math.round(v * 10_000) / 10_000
}
