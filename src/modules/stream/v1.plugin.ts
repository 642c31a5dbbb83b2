import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import { ApiKeyCampaignScopeError } from '../../platform/auth/campaign-scope.js'
import { ServiceUnavailableError } from '../../platform/http/errors.js'
import type { AccountService, V1Principal } from './account.service.js'
import { UNCHECKED_MESSAGE } from './cable/admit.js'
import type { Maintenance } from './maintenance.js'
import type { RateLimiter } from './ratelimit.js'
import type { StreamService } from './stream.service.js'
import { accountRoutes } from './v1.accounts.routes.js'
import {
  forbidden,
  isCredentialRefusal,
  MESSAGES,
  registerV1ErrorHandler,
  unauthorized,
  V1Error,
} from './v1.errors.js'
import { streamRoutes } from './v1.streams.routes.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The `/api/v1` caller, resolved once per request (undefined: anonymous or a bad token). */
    v1?: V1Principal
    v1Credential?: string
  }
}

export type RateLimitConfig = Pick<
  Config,
  | 'STREAMSOURCE_RATE_LIMIT_ANONYMOUS'
  | 'STREAMSOURCE_RATE_LIMIT_AUTHENTICATED'
  | 'STREAMSOURCE_RATE_LIMIT_SERVICE'
>

export interface V1Options {
  accounts: AccountService
  streams: StreamService
  limiter: RateLimiter
  maintenance: Maintenance
  config: RateLimitConfig & Pick<Config, 'STREAMSOURCE_SIGNUP_ENABLED'>
}

/** Bearer token (account JWT, a console person's token or `ovs_` key) or `X-API-Key`. */
function credential(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header) {
    const [scheme, value] = header.split(' ', 2)
    return scheme?.toLowerCase() === 'bearer' && value ? value.trim() : undefined
  }
  const key = request.headers['x-api-key']
  return typeof key === 'string' && key ? key : undefined
}

/**
 * Route hook, as `onRequest`: any signed-in caller. It runs after the plugin's own `onRequest`
 * (which resolved `request.v1`) and before the body is parsed or the schemas checked, as Rails'
 * `before_action :authenticate`: a caller without a working credential is told 401, never a
 * 400/422 naming the route's fields. Checks that need the input (a stream's owner) stay later.
 */
export async function requireV1(request: FastifyRequest): Promise<void> {
  if (!request.v1) throw unauthorized()
}

/** Route hook, as `onRequest` like `requireV1`: admins only (the admin API key counts). */
export async function requireV1Admin(request: FastifyRequest): Promise<void> {
  if (!request.v1) throw unauthorized()
  if (request.v1.role !== 'admin') throw forbidden()
}

/** Route config every `/api/v1` route carries: the tiered limiter below replaces the global one. */
export const V1_ROUTE_CONFIG = { rateLimit: false } as const

/**
 * The StreamSource-compatible API under `/api/v1`: its own error shape, its own accounts, and rate
 * limits in tiers (anonymous / signed in / service) with `X-RateLimit-*` on every response.
 */
export const v1Plugin: FastifyPluginAsync<V1Options> = async (app: FastifyInstance, opts) => {
  registerV1ErrorHandler(app)
  const { config, limiter } = opts

  app.addHook('onRequest', async (request, reply) => {
    // Clients that set `Content-Type: application/json` on every call send it with no body on
    // pin, archive, delete and logout; Rails reads that as no body, the JSON parser as bad JSON
    // (400). Without its type an empty body is no body: routes that need one still say so (422).
    const { 'content-length': length, 'transfer-encoding': chunked } = request.headers
    if ((length === undefined || length === '0') && chunked === undefined)
      delete request.raw.headers['content-type']
    const given = credential(request)
    if (given) {
      request.v1Credential = given
      // A refused credential is no caller (401 where one is needed); one the accounts could not
      // be read for is a 503 the client retries, as on `/cable`: a 401 would have the wall drop a
      // token nothing is wrong with.
      request.v1 = await opts.accounts.authenticate(given).catch((err) => {
        if (isCredentialRefusal(err)) return undefined
        // A key limited to some campaigns: the registry belongs to none of them (403).
        if (err instanceof ApiKeyCampaignScopeError) throw err
        request.log.warn({ err }, 'StreamSource credential check failed')
        throw new ServiceUnavailableError(UNCHECKED_MESSAGE, 'SERVICE_UNAVAILABLE')
      })
    }
    const p = request.v1
    const [key, limit] = !p
      ? [`ip:${clientNetwork(request.ip)}`, config.STREAMSOURCE_RATE_LIMIT_ANONYMOUS]
      : p.kind === 'apikey'
        ? [
            `key:${createHash('sha256').update(given!).digest('hex').slice(0, 32)}`,
            config.STREAMSOURCE_RATE_LIMIT_SERVICE,
          ]
        : p.kind === 'person'
          ? // A console person is a signed-in browser, as an account is: its tier, counted per person.
            [`person:${p.person_id}`, config.STREAMSOURCE_RATE_LIMIT_AUTHENTICATED]
          : p.service
            ? [`acc:${p.account_id}`, config.STREAMSOURCE_RATE_LIMIT_SERVICE]
            : [`acc:${p.account_id}`, config.STREAMSOURCE_RATE_LIMIT_AUTHENTICATED]
    const d = await limiter.hit(key, limit)
    reply.header('x-ratelimit-limit', String(d.limit))
    reply.header('x-ratelimit-remaining', String(d.remaining))
    reply.header('x-ratelimit-reset', String(d.reset))
    if (!d.allowed) {
      throw new V1Error(429, 'RATE_LIMITED', MESSAGES.rateLimited, {
        headers: { 'retry-after': String(d.retryAfter) },
      })
    }
  })

  // Only the services go down: passing `opts` itself would carry the `/api/v1` prefix along twice.
  const { accounts, streams, maintenance } = opts
  const children: V1Options = { accounts, streams, limiter, maintenance, config }
  await app.register(accountRoutes, children)
  await app.register(streamRoutes, children)
}
