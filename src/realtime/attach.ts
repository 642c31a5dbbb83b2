import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { UpgradeRequiredError } from './errors.js'
import { Gateway, type GatewayDeps } from './gateway.js'

/**
 * Wire the gateway into the app: the HTTP server's 'upgrade' event for `/ws/…`, a documented
 * route answering 426 to plain GETs, start on ready and 1012 to every socket before close.
 */
export function attachGateway(app: FastifyInstance, deps: Omit<GatewayDeps, 'log'>): Gateway {
  const gateway = new Gateway({ ...deps, log: app.log })
  app.server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head))
  app.get(
    '/ws/:campaign/:user_id',
    {
      schema: {
        operationId: 'openWebSocket',
        tags: ['realtime'],
        description:
          'WebSocket endpoint (see /docs/asyncapi.json). Token in `?token=`, the `Sec-WebSocket-Protocol` ' +
          "header (`['ovasabi', token]`) or the `ovasabi_token` cookie; `?since=<id>` replays missed campaign events.",
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
