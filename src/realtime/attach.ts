import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { answerBadUrls } from '../platform/http/error-handler.js'
import { AppError } from '../platform/http/errors.js'
import { errors } from '../platform/http/schemas.js'
import { Gateway, type GatewayDeps } from './gateway.js'
import { refusalHeaders } from './upgrade.js'

export interface AttachOptions {
  /** Upgrade paths other 'upgrade' listeners own (e.g. `/cable`); left to them. */
  otherUpgradePaths?: readonly string[]
}

/**
 * Wire the gateway into the app: the HTTP server's 'upgrade' event for `/ws/…`, a documented
 * route answering plain GETs (the probe, see `Admission.probe`), start on ready and 1012 to every
 * socket before close. An upgrade to any other path nobody owns is refused with 404 before the
 * upgrade: Node leaves such a socket open when an 'upgrade' listener exists, so the client would hang.
 */
export function attachGateway(
  app: FastifyInstance,
  deps: Omit<GatewayDeps, 'log'>,
  options: AttachOptions = {},
): Gateway {
  const gateway = new Gateway({ ...deps, log: app.log })
  const others = new Set(options.otherUpgradePaths ?? [])
  const probe = probeAnswer(gateway)
  app.server.on('upgrade', (req, socket, head) => {
    if (gateway.handleUpgrade(req, socket, head)) return
    if (!others.has((req.url ?? '/').split('?')[0]!)) gateway.refuseUnknownPath(socket)
  })
  app.get(
    '/ws/:campaign/:user_id',
    {
      // The checks read the raw URL as the upgrade does (the first `token`, `since`'s own rule):
      // the schema documents the route, the answer is the upgrade's.
      attachValidation: true,
      schema: {
        operationId: 'openWebSocket',
        tags: ['realtime'],
        description:
          'WebSocket endpoint (see /docs/asyncapi.json). Token in `?token=`, the `Sec-WebSocket-Protocol` ' +
          "header (`['ovasabi', token]`) or the `ovasabi_token` cookie (only from the site's own pages, `PUBLIC_URL` " +
          'or `CORS_ORIGINS`, else 403 ORIGIN_NOT_ALLOWED); `?since=<id>` replays missed campaign events. ' +
          'A session token, and a client address, may hold `WS_MAX_SOCKETS_PER_SESSION` and ' +
          '`WS_MAX_SOCKETS_PER_IP` sockets on a node; the next upgrade gets 429 TOO_MANY_CONNECTIONS. ' +
          'A plain GET (no Upgrade) is a probe: it runs the upgrade’s checks (the token may also come as ' +
          '`Authorization: Bearer`) without opening or counting a socket, and answers the refusal the ' +
          'upgrade would get (status, error body, `Retry-After`), or 426 UPGRADE_REQUIRED when the ' +
          'upgrade would be admitted. A browser sees a refused upgrade only as close code 1006: the ' +
          'probe tells why. It counts against the per-client HTTP rate limit (429 RATE_LIMITED).',
        params: Type.Object({ campaign: Type.String(), user_id: Type.String() }),
        querystring: Type.Object({
          token: Type.Optional(Type.String()),
          since: Type.Optional(Type.String()),
        }),
        security: [{ bearerAuth: [] }, {}],
        response: errors(400, 401, 403, 404, 409, 426, 429, 503),
      },
    },
    async (request) => {
      throw await probe(request.raw)
    },
  )
  // Every other GET under `/ws/` is the probe's too, as every upgrade there is the gateway's: the
  // route above matches no trailing slash, no segment over the router's `maxParamLength`, no path
  // of one or three segments, where the upgrade answers (admits, refuses with 400, 404 ...) itself.
  app.get('/ws/*', { schema: { hide: true } }, async (request) => {
    throw await probe(request.raw)
  })
  // Nor does the router read a broken percent-encoding: `frameworkErrors` answers it before any
  // route runs, with the probe's answer for these paths.
  answerBadUrls(app, '/ws/', (request) => probe(request.raw))
  app.addHook('onReady', () => gateway.start())
  app.addHook('preClose', () => gateway.shutdown())
  return gateway
}

/**
 * The answer to a plain GET of `/ws/…`: `Admission.probe` (the upgrade's own checks, in its
 * order), as an error carrying the headers the upgrade's refusal would (`Retry-After` by code).
 * Any other failure is returned as is (a masked 500).
 */
function probeAnswer(gateway: Gateway): (req: IncomingMessage) => Promise<unknown> {
  return async (req) => {
    const err = await gateway.admission.probe(req)
    if (!(err instanceof AppError)) return err
    return new AppError(err.statusCode, err.code, err.message, {
      details: err.details,
      headers: refusalHeaders(err),
      cause: err,
    })
  }
}
