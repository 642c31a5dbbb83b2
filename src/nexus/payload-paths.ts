import { AppError, locateDetails } from '../platform/http/errors.js'
import type { DispatchOutcome } from './dispatcher.js'

const PAYLOAD = '/payload'

/**
 * Refusals name fields by their place in the envelope (`/payload/email`). A body that carries the
 * payload elsewhere (the seed form's `data`, a REST route's own top level) gets paths into the
 * body it sent: `prefix` takes the place of `/payload` (`''`: the body's top level).
 */
export function relocateDetails(details: unknown, prefix: string): unknown {
  if (!Array.isArray(details)) return details
  return details.map((d) => {
    const path = (d as { path?: unknown } | null)?.path
    if (typeof path !== 'string' || !(path === PAYLOAD || path.startsWith(`${PAYLOAD}/`))) return d
    return { ...d, path: prefix + path.slice(PAYLOAD.length) || '/' }
  })
}

/**
 * Runs a dispatch whose payload sat at `prefix` in the request body, and answers its refusals
 * (thrown before the action ran, or recorded as its outcome) with paths into that body (`in`:
 * `body`; a thrown one gets it from the error handler).
 */
export async function dispatchWithPayloadAt(
  prefix: string,
  run: () => Promise<DispatchOutcome>,
): Promise<DispatchOutcome> {
  let outcome: DispatchOutcome
  try {
    outcome = await run()
  } catch (err) {
    if (!(err instanceof AppError) || err.details === undefined) throw err
    throw new AppError(err.statusCode, err.code, err.message, {
      details: relocateDetails(err.details, prefix),
      headers: err.headers,
      cause: err,
    })
  }
  const body = outcome.body as { error?: { details?: unknown } }
  if (body.error?.details === undefined) return outcome
  return {
    ...outcome,
    body: {
      ...body,
      error: { ...body.error, details: locateDetails(relocateDetails(body.error.details, prefix)) },
    },
  }
}
