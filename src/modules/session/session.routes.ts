import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import type { TokenService } from '../../platform/auth/tokens.js'
import { errors } from '../../platform/http/schemas.js'

export const SessionResponse = Type.Object({
  token: Type.String(),
  session_id: Type.String(),
  user_id: Type.Literal('guest'),
  roles: Type.Array(Type.String()),
  expires_at: Type.String(),
})

/** `POST /api/session`: a visitor's guest session token. */
export const sessionRoutes: FastifyPluginAsync<{ tokens: TokenService }> = async (app, { tokens }) => {
  app.post(
    '/api/session',
    {
      config: { rateLimit: { max: 60, timeWindow: '1 minute' } },
      schema: {
        operationId: 'createSession',
        tags: ['session'],
        description: 'Issue a guest session token (JWT, HS256). Send it as `Authorization: Bearer`.',
        response: { 201: SessionResponse, ...errors(400, 429) },
      },
    },
    async (_request, reply) => {
      const { token, principal } = await tokens.issueGuest()
      return reply.status(201).send({
        token,
        session_id: principal.session_id,
        user_id: 'guest' as const,
        roles: principal.roles,
        expires_at: new Date(principal.exp! * 1000).toISOString(),
      })
    },
  )
}
