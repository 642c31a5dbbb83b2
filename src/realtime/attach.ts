import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { clientIp, compileTrustProxy } from '../platform/http/client-ip.js'
import { clientNetwork } from '../platform/http/client-network.js'
import { AppError, ServiceUnavailableError } from '../platform/http/errors.js'
import { errors } from '../platform/http/schemas.js'
import { UpgradeRequiredError } from './errors.js'
import { Gateway, type GatewayDeps } from './gateway.js'
import { tooManyConnections } from './limits.js'
import { authorizeUpgrade, refusalHeaders } from './upgrade.js'

export interface AttachOptions {
  /** Upgrade paths other 'upgrade' listeners own (e.g. `/cable`); left to them. */
  otherUpgradePaths?: readonly string[]
}

/**
 * Wire the gateway into the app: the HTTP server's 'upgrade' event for `/ws/…`, a documented
 * route answering plain GETs (the probe, see `probeUpgrade`), start on ready and 1012 to every
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
  // The gateway's own flag is private; this one is set in the same hook, before its shutdown.
  let closing = false
  const probe = probeUpgrade(gateway, deps, () => closing)
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
  app.addHook('onReady', () => gateway.start())
  app.addHook('preClose', () => {
    closing = true
    return gateway.shutdown()
  })
  return gateway
}

/**
 * The answer to a plain GET of `/ws/…`: what an upgrade of the same request would be refused with
 * (`Admission.handle`'s checks, in its order: shutdown, the address's socket limit, the token and
 * campaign, the session's socket limit), or 426 when it would be admitted. It takes no socket
 * slot, only looks at the counts: a probe is no socket. The refusal carries the headers the
 * upgrade's would (`Retry-After` by code); any other failure is thrown as is (a masked 500).
 */
function probeUpgrade(
  gateway: Gateway,
  deps: Omit<GatewayDeps, 'log'>,
  closing: () => boolean,
): (req: IncomingMessage) => Promise<unknown> {
  const { authenticator, campaigns, config } = deps
  const trustProxy = compileTrustProxy(config.TRUST_PROXY)
  const counts = gateway.admission.counts
  const full = (scope: 'ip' | 'session', key: string, limit: number) =>
    limit > 0 && key !== '' && counts.count(scope, key) >= limit
  const shuttingDown = () => new ServiceUnavailableError('The server is shutting down', 'SHUTTING_DOWN')
  const decide = async (req: IncomingMessage): Promise<unknown> => {
    if (closing()) return shuttingDown()
    const network = clientNetwork(clientIp(req, trustProxy))
    if (full('ip', network, config.WS_MAX_SOCKETS_PER_IP))
      return tooManyConnections('ip', config.WS_MAX_SOCKETS_PER_IP)
    const grant = await authorizeUpgrade(req, {
      authenticator,
      campaigns,
      allowedOrigins: config.CORS_ORIGINS,
      publicUrl: config.PUBLIC_URL,
      bearer: true,
    })
    if (closing()) return shuttingDown()
    if (full('session', grant.principal.session_id, config.WS_MAX_SOCKETS_PER_SESSION))
      return tooManyConnections('session', config.WS_MAX_SOCKETS_PER_SESSION)
    return new UpgradeRequiredError()
  }
  return async (req) => {
    const err = await decide(req).catch((e: unknown) => e)
    if (!(err instanceof AppError)) return err
    return new AppError(err.statusCode, err.code, err.message, {
      details: err.details,
      headers: refusalHeaders(err),
      cause: err,
    })
  }
}
