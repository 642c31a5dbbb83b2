import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { SecuredBy } from '../../platform/http/schemas.js'
import { AccountJson } from './stream.schema.js'
import { MESSAGES, notFound, V1Error } from './v1.errors.js'
import { requireV1, requireV1Admin, V1_ROUTE_CONFIG, type V1Options } from './v1.plugin.js'
import { err } from './v1.streams.params.js'

const tags = ['streamsource']
const security = SecuredBy
const Status = Type.Object({ code: Type.Integer(), message: Type.String() })
/** Password changes one account may try in 15 minutes: each checks the current password, so a stolen token must not make it a guessing oracle. */
const PASSWORD_CHANGES = 10
const PasswordChange = Type.Object({
  current_password: Type.Optional(Type.String({ maxLength: 128 })),
  password: Type.Optional(Type.String({ maxLength: 128 })),
  password_confirmation: Type.Optional(Type.String({ maxLength: 128 })),
})
const accountId = (request: FastifyRequest) => {
  const raw = (request.params as { id: string }).id
  if (!/^\d{1,15}$/.test(raw)) throw notFound()
  return Number(raw)
}

/**
 * Cutting an account's tokens off: every token issued before is refused from then on, on REST at
 * once and on open `/cable` sockets within a re-check. A password change does it (Devise's
 * `{user: {current_password, password, password_confirmation}}`, answered with a fresh token),
 * so does an admin (a member action, like StreamSource's `users/:id/toggle_admin`), and so does
 * "log out everywhere". Plain `DELETE /logout` still ends only the token it is called with.
 */
export const tokenRoutes: FastifyPluginAsync<Pick<V1Options, 'accounts' | 'limiter'>> = async (
  app,
  { accounts, limiter },
) => {
  const route = { config: V1_ROUTE_CONFIG }

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/users/password',
      ...route,
      onRequest: requireV1,
      schema: {
        operationId: method === 'PUT' ? 'streamSourceChangePassword' : 'streamSourceChangePasswordPatch',
        tags,
        security,
        description:
          'Change your own password. Every token of the account issued before stops working (open ' +
          '`/cable` sockets included); the answer carries a new one.',
        body: Type.Object({ user: PasswordChange }),
        response: {
          200: Type.Object({ status: Status, user: AccountJson, token: Type.String() }),
          ...err(401, 403, 422, 429),
        },
      },
      handler: async (request, reply) => {
        const principal = request.v1!
        const d = await limiter.hit(
          `password:acc:${principal.account_id ?? 'apikey'}`,
          PASSWORD_CHANGES,
          15 * 60_000,
        )
        if (!d.allowed) {
          throw new V1Error(429, 'RATE_LIMITED', MESSAGES.rateLimited, {
            headers: { 'retry-after': String(d.retryAfter) },
          })
        }
        const { user } = request.body as { user: Record<string, unknown> }
        const session = await accounts.changePassword(principal, user)
        reply.header('authorization', `Bearer ${session.token}`)
        return { status: { code: 200, message: 'Password updated successfully.' }, ...session }
      },
    })
  }

  app.post(
    '/users/:id/revoke_tokens',
    {
      ...route,
      onRequest: requireV1Admin,
      schema: {
        operationId: 'streamSourceRevokeUserTokens',
        tags,
        security,
        description:
          'Every token the account holds stops working (a leaked one included); it logs in again for a new one.',
        params: Type.Object({ id: Type.String({ maxLength: 20 }) }),
        response: {
          200: Type.Object({ user: AccountJson, tokens_valid_after: Type.String({ format: 'date-time' }) }),
          ...err(401, 403, 404, 429),
        },
      },
    },
    async (request) => accounts.revokeTokens(accountId(request)),
  )

  app.delete(
    '/logout/all',
    {
      ...route,
      onRequest: requireV1,
      schema: {
        operationId: 'streamSourceLogoutEverywhere',
        tags,
        security,
        description: "Log out everywhere: every token of the caller's account stops working, this one too.",
        response: { 200: Type.Object({ status: Status }), ...err(401, 403, 429) },
      },
    },
    async (request) => {
      await accounts.logoutEverywhere(request.v1!)
      return { status: { code: 200, message: 'Logged out everywhere.' } }
    },
  )
}
