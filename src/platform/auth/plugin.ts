import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { originAllowed } from '../http/browser-cookie.js'
import { ForbiddenError, UnauthorizedError } from '../http/errors.js'
import { type ApiKeyService, looksLikeApiKey } from './apikeys.js'
import { assertCampaignInScope, assertUnscoped, campaignOfBody, campaignOfParams } from './campaign-scope.js'
import { hasRole, type Principal, type Role } from './principal.js'
import type { TokenService } from './tokens.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authenticate`/`requireRole`; undefined on public routes. */
    principal?: Principal
  }
}

export const TOKEN_COOKIE = 'ovasabi_token'

/** The pages whose requests may use the session cookie (besides the site's own host). */
export interface CookieOrigins {
  /** `CORS_ORIGINS`: the origins allowed to send credentials. */
  allowed: readonly string[]
  /** `PUBLIC_URL`, when the site is served under another host than the one requests name. */
  publicUrl?: string
}

/**
 * Bearer token or API key from `Authorization`, `X-API-Key`, or the session cookie. With
 * `origins`, the cookie counts only for a page of this site, an allowed origin or a client that
 * sends no `Origin` (as on `/ws`): a browser sends it with a cross-site request too, and CORS
 * stops only the reading of the answer, not a body-less POST (a logout) being acted on.
 */
export function credentialFrom(request: FastifyRequest, origins?: CookieOrigins): string | undefined {
  const header = request.headers.authorization
  if (header) {
    const [scheme, value] = header.split(' ', 2)
    if (scheme?.toLowerCase() === 'bearer' && value) return value.trim()
    throw new UnauthorizedError('Authorization header must be "Bearer <token>"', 'INVALID_TOKEN')
  }
  const apiKey = request.headers['x-api-key']
  if (typeof apiKey === 'string' && apiKey) return apiKey
  const cookie = (request as any).cookies?.[TOKEN_COOKIE]
  if (typeof cookie !== 'string' || !cookie) return undefined
  if (origins && !originAllowed(request.raw, origins.allowed, origins.publicUrl)) {
    throw new ForbiddenError(
      'This page may not use the session cookie; send the token as "Authorization: Bearer <token>"',
      'ORIGIN_NOT_ALLOWED',
    )
  }
  return cookie
}

export interface Authenticator {
  /** The principal for a token or API key, or throws `UnauthorizedError`. */
  resolve(credential: string): Promise<Principal>
}

export function createAuthenticator(deps: {
  tokens: TokenService
  apiKeys: ApiKeyService
  /** A token that verified but must not be honoured any more (its person erased, say). */
  isRevoked?: (principal: Principal) => Promise<boolean>
}): Authenticator {
  return {
    async resolve(credential) {
      if (looksLikeApiKey(credential)) {
        const principal = await deps.apiKeys.authenticate(credential)
        if (!principal) throw new UnauthorizedError('API key is invalid or revoked', 'INVALID_API_KEY')
        return principal
      }
      const principal = await deps.tokens.verify(credential)
      if (deps.isRevoked && (await deps.isRevoked(principal))) {
        throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
      }
      return principal
    },
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticator: Authenticator
    /**
     * Hook: any valid session, user token or API key. Use it as `onRequest`, so a caller without
     * a credential is told 401 before the route's schemas are checked (never 400 with details).
     */
    authenticate: (request: FastifyRequest) => Promise<void>
    /** Hook factory (as `onRequest`, like `authenticate`): the caller must hold `role` or a stronger one. */
    requireRole: (role: Role) => (request: FastifyRequest) => Promise<void>
  }
}

export const authPlugin = fp<{ authenticator: Authenticator; cookieOrigins?: CookieOrigins }>(
  async (app: FastifyInstance, opts) => {
    app.decorate('authenticator', opts.authenticator)
    /**
     * The one check of a campaign-scoped API key on REST: the campaign a request names in its path
     * (`/api/campaign/{slug}/…`, `/api/{campaign}/update`) or its body (`/api/quote`,
     * `/api/referral`, `/api/user/register`, an envelope's `campaign_id`) must be one of the key's.
     * Made when the caller is resolved and again once the body is parsed (`preHandler`).
     */
    const checkScope = (request: FastifyRequest) => {
      const principal = request.principal
      if (!principal?.campaigns) return
      const inPath = campaignOfParams(request.params)
      if (inPath !== undefined) assertCampaignInScope(principal, inPath)
      const inBody = campaignOfBody(request.body)
      if (inBody !== undefined) assertCampaignInScope(principal, inBody)
    }
    const authenticate = async (request: FastifyRequest) => {
      if (request.principal) return
      const credential = credentialFrom(request, opts.cookieOrigins ?? { allowed: [] })
      if (!credential) throw new UnauthorizedError()
      request.principal = await opts.authenticator.resolve(credential)
      checkScope(request)
    }
    app.decorate('authenticate', authenticate)
    app.decorate('requireRole', (role: Role) => async (request: FastifyRequest) => {
      await authenticate(request)
      if (!hasRole(request.principal, role)) throw new ForbiddenError(`This requires the ${role} role`)
      // A route for a role names its campaign in its path, or acts on none or on all of them
      // (campaign lists, people, webhooks' own log, Amadeus): no route for a scoped key.
      if (campaignOfParams(request.params) === undefined) assertUnscoped(request.principal)
    })
    // Callback style: every request passes here, and most carry no scoped key.
    app.addHook('preHandler', (request, _reply, done) => {
      try {
        checkScope(request)
        done()
      } catch (err) {
        done(err as Error)
      }
    })
  },
  { name: 'ovasabi-auth' },
)
