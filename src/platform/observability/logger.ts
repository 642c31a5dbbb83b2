import type { FastifyServerOptions } from 'fastify'
import { stdSerializers } from 'pino'

/**
 * Query parameters whose values never reach a log: credentials (the socket's `token`, the
 * media server's ingest `secret`, which nginx-rtmp can only send in the URL) and personal data (an editor's lead search by `email` or by name, `q`). Logs outlive an erasure.
 */
const WITHHELD_PARAMS = new Set([
  'token',
  'access_token',
  'api_key',
  'apikey',
  'password',
  'secret',
  'email',
  'q',
])
/** Paths that are capabilities: the signed upload URL `media.upload` hands out (its next segment). */
const CAPABILITY_PREFIX = ['', 'media', 'upload']

/** A path segment as the router reads it (`%75pload` is `upload`). */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** `path` with the segment after a capability prefix replaced, however the prefix was encoded. */
function loggablePath(path: string): string {
  const segments = path.split('/')
  const at = CAPABILITY_PREFIX.length
  if (!segments[at] || !CAPABILITY_PREFIX.every((s, i) => decodedSegment(segments[i]!) === s)) return path
  segments[at] = '[redacted]'
  return segments.join('/')
}

/** A request URL as logged: capability paths and withheld query values replaced. */
export function loggableUrl(url: string): string {
  const at = url.indexOf('?')
  const path = loggablePath(at < 0 ? url : url.slice(0, at))
  if (at < 0) return path
  const query = url
    .slice(at + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=')
      const raw = eq < 0 ? part : part.slice(0, eq)
      let name = raw
      try {
        name = decodeURIComponent(raw.replace(/\+/g, ' '))
      } catch {
        // a malformed escape: judged by its raw name
      }
      return WITHHELD_PARAMS.has(name.toLowerCase()) ? `${raw}=[redacted]` : part
    })
    .join('&')
  return `${path}?${query}`
}

const WITHHELD = '[redacted]'

interface DatabaseError {
  message: string
  code: string
  severity: string
  cause?: unknown
}

/** A PostgreSQL error as pg and PGlite raise it: a SQLSTATE and a severity. */
function isDatabaseError(e: unknown): e is DatabaseError {
  const fields = e as Partial<Record<'message' | 'code' | 'severity', unknown>> | null
  return (
    typeof fields?.message === 'string' &&
    typeof fields.severity === 'string' &&
    typeof fields.code === 'string' &&
    /^[0-9A-Z]{5}$/.test(fields.code)
  )
}

/**
 * A constraint violation's `detail` without the row's values: `Key (email)=(…) already exists.`
 * keeps the columns and what happened; anything else (`Failing row contains (…)`, a whole row) goes.
 */
function withheldDetail(detail: string): string {
  const key =
    /^(Key \(.*?\)=\()[\s\S]*(\) (?:already exists|is not present in table "[^"]*"|is still referenced from table "[^"]*")\.)$/.exec(
      detail,
    )
  return key ? `${key[1]}${WITHHELD}${key[2]}` : WITHHELD
}

/**
 * A data exception's message (SQLSTATE class 22) quotes the input it could not take
 * (`invalid input syntax for type uuid: "ada@example.org"`): the quoted part goes.
 */
function withheldMessage(err: DatabaseError): string {
  return err.code.startsWith('22') ? err.message.replace(/"[\s\S]*"/, `"${WITHHELD}"`) : err.message
}

/**
 * The command an ioredis error hangs on itself (a reply error such as READONLY after a failover or
 * OOM at the memory limit, an aborted command): its name stays, its arguments go. They are the
 * keys and values: a lead published to the admins, a frame of the replay history, a client address.
 */
function withheldCommand(command: unknown): unknown {
  if (typeof command !== 'object' || command === null || !('args' in command)) return command
  return { name: (command as { name?: unknown }).name, args: WITHHELD }
}

/**
 * pino's error serializer, but a database error keeps the values it carries out of the log: the
 * row in `detail` (an email in a unique violation), the query's `params` (PGlite adds them: every
 * value of the statement, password hashes included) and the input a data exception quotes, also
 * where the error is the `cause` of another. Its SQLSTATE, table, column and constraint stay.
 * A Redis error keeps its command's arguments out (`withheldCommand`), and so does each error of
 * an aborted transaction (`previousErrors`, which pino would otherwise write as they are).
 */
function serializeError(
  err: Error,
  // The errors being written above this one: an aborted transaction's error can list itself (or
  // an error that lists it) among its `previousErrors`, which recursed until the stack ran out.
  within: ReadonlySet<Error> = new Set(),
): ReturnType<typeof stdSerializers.err> {
  const out = stdSerializers.err(err)
  if ((out as unknown) === err || typeof out !== 'object' || out === null) return out
  const logged = out as unknown as Record<string, unknown>
  const seen = new Set<unknown>()
  for (let e: unknown = err; typeof e === 'object' && e !== null && !seen.has(e); e = (e as Error).cause) {
    seen.add(e)
    if (!isDatabaseError(e)) continue
    const safe = withheldMessage(e)
    if (safe === e.message) continue
    for (const key of ['message', 'stack'] as const) {
      if (typeof logged[key] === 'string') logged[key] = (logged[key] as string).replaceAll(e.message, safe)
    }
  }
  if (isDatabaseError(err)) {
    if (typeof logged.detail === 'string') logged.detail = withheldDetail(logged.detail)
    if (logged.params !== undefined) logged.params = WITHHELD
  }
  if (logged.command !== undefined) logged.command = withheldCommand(logged.command)
  if (Array.isArray(logged.previousErrors)) {
    const path = new Set(within).add(err)
    logged.previousErrors = logged.previousErrors.map((e: unknown) =>
      e instanceof Error && !path.has(e) ? serializeError(e, path) : WITHHELD,
    )
  }
  return out
}

/** pino options: JSON lines with the request id; credentials never logged. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'req.headers["sec-websocket-protocol"]',
        '*.password',
        '*.token',
      ],
      censor: '[redacted]',
    },
    serializers: {
      err: serializeError,
      req: (req) => ({
        method: req.method,
        url: loggableUrl(String(req.url)),
        ip: req.ip,
      }),
    },
  }
}
