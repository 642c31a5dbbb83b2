import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { UpgradeRequiredError } from './errors.js'
import { Gateway, type GatewayDeps } from './gateway.js'

export interface AttachOptions {
  /** Upgrade paths other 'upgrade' listeners own (e.g. `/cable`); left to them. */
  otherUpgradePaths?: readonly string[]
}

/**
 * Wire the gateway into the app: the HTTP server's 'upgrade' event for `/ws/…`, a documented
 * route answering 426 to plain GETs, start on ready and 1012 to every socket before close.
 * An upgrade to any other path nobody owns is refused with 404 before the upgrade: Node leaves
 * such a socket open when an 'upgrade' listener exists, so the client would hang.
 */
export function attachGateway(
  app: FastifyInstance,
  deps: Omit<GatewayDeps, 'log'>,
  options: AttachOptions = {},
): Gateway {
  const gateway = new Gateway({ ...deps, log: app.log })
  const others = new Set(options.otherUpgradePaths ?? [])
  app.server.on('upgrade', (req, socket, head) => {
    if (gateway.handleUpgrade(req, socket, head)) return
    if (!others.has((req.url ?? '/').split('?')[0]!)) gateway.refuseUnknownPath(socket)
  })
  app.get(
    '/ws/:campaign/:user_id',
    {
      schema: {
        operationId: 'openWebSocket',
        tags: ['realtime'],
        description:
          'WebSocket endpoint (see /docs/asyncapi.json). Token in `?token=`, the `Sec-WebSocket-Protocol` ' +
          "header (`['ovasabi', token]`) or the `ovasabi_token` cookie (only from the site's own pages, `PUBLIC_URL` " +
          'or `CORS_ORIGINS`, else 403 ORIGIN_NOT_ALLOWED); `?since=<id>` replays missed campaign events. ' +
          'A session token, and a client address, may hold `WS_MAX_SOCKETS_PER_SESSION` and ' +
          '`WS_MAX_SOCKETS_PER_IP` sockets on a node; the next upgrade gets 429 TOO_MANY_CONNECTIONS.',
        params: Type.Object({ campaign: Type.String(), user_id: Type.String() }),
        querystring: Type.Object({
          token: Type.Optional(Type.String()),
          since: Type.Optional(Type.String()),
        }),
        response: { 426: { $ref: 'ErrorResponse#' } },
      },
    },
    async () => {
      throw new UpgradeRequiredError()
    },
  )
  app.addHook('onReady', () => gateway.start())
  app.addHook('preClose', () => gateway.shutdown())
  return gateway
}
