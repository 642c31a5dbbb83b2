import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import { callerOf } from './user.routes.js'
import { AuthResponse, EndSignInResponse, SignInList } from './user.schema.js'
import type { UserService } from './user.service.js'

/** Where a person is signed in, and ending one or all but this of those sessions: "Your account"'s list. */
export const signInRoutes: FastifyPluginAsync<{ users: UserService }> = async (app, { users }) => {
  const tags = ['user']

  app.get(
    '/api/auth/sessions',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'listSessions',
        tags,
        security: SecuredBy,
        description:
          'Where the caller (a person’s token) is signed in: each session a token of theirs may still work for, ' +
          'most recently active first, with the browser’s User-Agent and the client network (an IPv4 address, ' +
          'an IPv6 /64) it last came from, when it was signed in (a join or login) and last given a token. ' +
          '`current` marks the one asking. Not listed: a session logged out or ended, one cut off (log out ' +
          'everywhere, a password set), expired or past SESSION_MAX_AGE_SECONDS. A guest session or an API ' +
          'key: 403 `PERSON_REQUIRED`. Not cached (`Cache-Control: no-store`).',
        response: { 200: SignInList, ...errors(401, 403) },
      },
    },
    async (request, reply) => {
      const list = await users.signIns(request.principal!)
      return reply.header('cache-control', 'no-store').send(list)
    },
  )

  app.delete(
    '/api/auth/sessions/:id',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'endSession',
        tags,
        security: SecuredBy,
        description:
          'End one of the caller’s sessions, as a logout there would: every token of it stops working (401 ' +
          '`TOKEN_REVOKED`) on every node, its sockets close. The caller’s own (`current: true`) too. Two ' +
          'people who joined from one browser share its session: it ends for both. A session that is not the ' +
          'caller’s: 404 `SESSION_NOT_FOUND`; a guest session or an API key: 403 `PERSON_REQUIRED`. Ending an ' +
          'ended one answers as the first time.',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: EndSignInResponse, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const ended = await users.endSignIn(request.principal!, id)
      return { status: 'ended' as const, ...ended }
    },
  )

  app.post(
    '/api/auth/logout/others',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'logoutOthers',
        tags,
        security: SecuredBy,
        description:
          'Sign out everywhere else: every user token of the caller issued before now stops working (401 ' +
          '`TOKEN_REVOKED`) on every node, and so does every session they joined or logged in from (its guest ' +
          'tokens too) but this one and one another person also joined from, as with `/api/auth/logout/all`. ' +
          'The caller goes on: the answer is a login’s, a new token of the same session, which keeps its age ' +
          '(SESSION_MAX_AGE_SECONDS counts from the sign-in); its sockets take it with an `auth` frame or ' +
          'reconnect. A guest session or an API key: 403 `PERSON_REQUIRED`; 10 a person in 15 minutes (429).',
        response: { 200: AuthResponse, ...errors(401, 403, 429) },
      },
    },
    async (request, reply) => {
      const result = await users.logoutOthers(request.principal!, callerOf(request))
      return reply.header('cache-control', 'no-store').send(result)
    },
  )
}
