import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyHttpOptions, FastifyInstance } from 'fastify'
import { AppError, errorBody } from './errors.js'
import { bodyRateFloor } from './min-rate.js'

/**
 * Deadlines for clients that hold a connection without sending (slowloris), like nginx's
 * `client_header_timeout` and `client_body_timeout`.
 */
export interface HttpTimeouts {
  /** Longest a request may take to send its head (request line and headers). */
  headersMs: number
  /**
   * Longest a request body may go without a byte (and a client may leave its response unread).
   * A body has no total deadline: a large upload on a slow link goes on while bytes arrive.
   */
  bodyIdleMs: number
  /**
   * Bytes per second a request body must average while it is read, over the last `bodyIdleMs`
   * (since it began, while shorter), once it has been read for `bodyRateGraceMs`; else 408
   * `BODY_TOO_SLOW` and the connection is closed. 0: no floor.
   */
  bodyMinBytesPerSecond: number
  /** Reading time a body has before its rate is judged. */
  bodyRateGraceMs: number
  /**
   * The security headers every answer carries (`securityHeaders`): the answers written straight to
   * the socket carry them too, with `Cache-Control: no-store` and a CSP of their own (`default-src
   * 'none'`: a JSON error loads nothing; the app's may name the request's host, which these do not
   * read).
   */
  answerHeaders?: Record<string, string>
}

/** How long a keep-alive connection waits for its next request: Fastify's default, kept. */
const KEEP_ALIVE_MS = 72_000

export class RequestTimeoutError extends AppError {
  constructor(message = 'The request took too long to arrive', code = 'REQUEST_TIMEOUT') {
    super(408, code, message)
  }
}

/**
 * A body under the rate floor. Still 408, so clients and proxies treat it as the timeout it is
 * (retried as one); its own code, as `MEDIA_TOO_LARGE` is a 413 of its own, tells the client it
 * was too slow rather than silent, which `REQUEST_TIMEOUT` would leave it to guess.
 */
export class BodyTooSlowError extends RequestTimeoutError {
  constructor(message: string) {
    super(message, 'BODY_TOO_SLOW')
  }
}

const bodyStallHandlers = new WeakMap<IncomingMessage, (err: RequestTimeoutError) => void>()

/**
 * For a route that reads a request body itself (uploads): when the body goes `bodyIdleMs` without
 * a byte while it is read, or comes under the rate floor (a `BodyTooSlowError`), `onIdle` is
 * called instead of the connection being answered 408 and closed; it must end the request.
 * Returns the function that stops watching.
 */
export function whenBodyIdle(req: IncomingMessage, onIdle: (err: RequestTimeoutError) => void): () => void {
  bodyStallHandlers.set(req, onIdle)
  return () => {
    if (bodyStallHandlers.get(req) === onIdle) bodyStallHandlers.delete(req)
  }
}

/**
 * An answer written straight to the socket, for a request Fastify cannot answer (or never saw):
 * the standard error body, with the request's id when it got one.
 */
function writeError(socket: Socket, err: AppError, guard: string, requestId?: string): void {
  const full = errorBody(err, requestId ?? '')
  const body = JSON.stringify(requestId ? full : { status: full.status, error: full.error })
  // An id is a ULID or a given `x-request-id` that matched `[\w.:-]`: safe in a header.
  const id = requestId ? `x-request-id: ${requestId}\r\n` : ''
  socket.write(
    `HTTP/1.1 ${err.statusCode} ${STATUS_CODES[err.statusCode]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n${id}${guard}connection: close\r\n\r\n${body}`,
  )
}

/** `headers` as header lines, the CSP replaced by one that loads nothing, and `no-store`. */
function rawAnswerHeaders(headers: Record<string, string>): string {
  const lines = Object.entries({
    ...headers,
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cache-control': 'no-store',
  })
  return lines.map(([name, value]) => `${name}: ${value}\r\n`).join('')
}

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'Request headers are too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'PAYLOAD_TOO_LARGE', 'Chunk extensions are too large'],
}

/**
 * The HTTP server's deadlines: Fastify options, and `watch`, to call on the app before any other
 * hook is added. With them:
 * - a request's head must come whole within `headersMs` (Node's `headersTimeout`), else 408 (a
 *   connection that sent nothing is closed unanswered);
 * - a request has no total deadline (Node's `requestTimeout` off);
 * - a connection quiet for `bodyIdleMs` (Node's socket timeout) is judged by what it is doing: a
 *   body being read that stopped coming is answered 408 and closed; an answer the client stopped
 *   reading, or no request at all (Node's default), is closed; a request the server is still
 *   working on is left alone;
 * - a body read under `bodyMinBytesPerSecond` (see `min-rate.ts`) is answered 408 and closed.
 * Malformed requests get the standard error body too.
 */
export function httpTimeouts(timeouts: HttpTimeouts): {
  options: Required<
    Pick<
      FastifyHttpOptions<Server>,
      'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout' | 'http' | 'clientErrorHandler'
    >
  >
  watch(app: FastifyInstance): void
} {
  const { headersMs, bodyIdleMs } = timeouts
  /** Header lines for the answers written straight to the socket (see `answerHeaders`). */
  const guard = rawAnswerHeaders(timeouts.answerHeaders ?? {})
  /** The latest response of each connection. */
  const responses = new WeakMap<Socket, ServerResponse>()
  /** The id Fastify gave each request, for the answers written without it. */
  const requestIds = new WeakMap<IncomingMessage, string>()
  /** A response of this connection has begun: writing anything else on it would corrupt it. */
  const answering = (socket: Socket) => {
    const res = responses.get(socket)
    return res?.headersSent === true && !res.writableFinished
  }

  /** The body of `res`'s request stopped coming, or comes too slowly, while it is read. */
  function stalled(res: ServerResponse, err: RequestTimeoutError): void {
    const req = res.req
    const onIdle = bodyStallHandlers.get(req)
    if (onIdle) {
      onIdle(err)
      return
    }
    const socket = req.socket
    if (socket.writable && !res.headersSent) writeError(socket, err, guard, requestIds.get(req))
    socket.destroy()
  }

  const watchRate = bodyRateFloor(
    {
      bytesPerSecond: timeouts.bodyMinBytesPerSecond,
      graceMs: timeouts.bodyRateGraceMs,
      windowMs: Math.max(timeouts.bodyRateGraceMs, bodyIdleMs),
    },
    (res, rate) =>
      stalled(
        res,
        new BodyTooSlowError(
          `The request body came at ${Math.floor(rate)} bytes/s, under the ` +
            `${timeouts.bodyMinBytesPerSecond} bytes/s required`,
        ),
      ),
  )

  /** The connection of `res`, under way, sent and received nothing for `bodyIdleMs`. */
  function onQuiet(this: ServerResponse, socket: Socket): void {
    const req = this.req
    if (!req.complete) {
      // Bytes stop coming while nobody reads them (a body not read yet, storage slower than the
      // client): that is not the client's silence. Watch again.
      if (req.readableFlowing !== true) {
        socket.setTimeout(bodyIdleMs)
        return
      }
      stalled(this, new RequestTimeoutError(`No bytes of the request body came for ${bodyIdleMs / 1000} s`))
      return
    }
    // The whole request came. An answer stuck in the socket's buffer: the client stopped reading.
    if (socket.writableLength > 0) socket.destroy()
    // Otherwise the server is still working on the answer; its first byte restarts the clock.
  }

  return {
    options: {
      // Node's socket timeout: with a listener on the response (see `watch`), Node leaves a
      // connection under way to it; one with no request under way is destroyed.
      connectionTimeout: bodyIdleMs,
      keepAliveTimeout: KEEP_ALIVE_MS,
      requestTimeout: 0,
      http: {
        headersTimeout: headersMs,
        requestTimeout: 0,
        // How often head deadlines are checked: Node's 30 s would let a 30 s deadline run to 60 s.
        connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(headersMs / 4))),
      },
      clientErrorHandler: (err, socket) => {
        if (err.code === 'ECONNRESET' || socket.destroyed) return
        // A connection that never sent a byte asked nothing: closed unanswered, as the socket
        // timeout (the same length, racing this check on a loaded host) would close it.
        if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.bytesRead === 0) {
          socket.destroy()
          return
        }
        const [status, code, message] =
          err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'REQUEST_TIMEOUT', `The request's headers did not come within ${headersMs / 1000} s`]
            : (CLIENT_ERRORS[err.code] ?? [400, 'BAD_REQUEST', 'Malformed HTTP request'])
        if (socket.writable && !answering(socket))
          writeError(socket, new AppError(status, code, message), guard)
        socket.destroy(err)
      },
    },
    watch(app) {
      // Every server the app listens with (Fastify opens one per address of `localhost`) runs
      // this: a callback hook, first, so a request is watched before anything else awaits.
      app.addHook('onRequest', (request, reply, done) => {
        responses.set(request.raw.socket, reply.raw)
        requestIds.set(request.raw, request.id)
        reply.raw.on('timeout', onQuiet)
        watchRate(reply.raw)
        done()
      })
    },
  }
}
