import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { credentialFrom } from '../../platform/auth/plugin.js'
import { assertUnscoped } from '../../platform/auth/campaign-scope.js'
import { AppError, UnauthorizedError } from '../../platform/http/errors.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import { assertActionAllowed } from '../campaign/campaign.guard.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import {
  AuthResponse,
  EraseResponse,
  LoginBody,
  LogoutResponse,
  MeResponse,
  RegisterBody,
  type RegisterPayload,
  SetRoleBody,
  SetRoleResponse,
  UpdateMeBody,
} from './user.schema.js'
import type { CallerContext, UserService } from './user.service.js'
import { ChangePasswordBody } from './password-reset.schema.js'

export interface UserRoutesOptions {
  users: UserService
  campaigns: Pick<CampaignService, 'get'>
}

/** Who asks, from where, in which browser: where a person signs in is listed as such. */
export const callerOf = (request: FastifyRequest): CallerContext => ({
  principal: request.principal,
  ip: request.ip,
  userAgent: request.headers['user-agent'],
})

export const userRoutes: FastifyPluginAsync<UserRoutesOptions> = async (app, { users, campaigns }) => {
  const tags = ['user']
  /**
   * Anyone may join or log in; a guest token, when sent, is the session that gets upgraded. A
   * join or login continues the caller's session when their credential still works. One that
   * does not (expired, logged out, its person erased, or the cookie sent by another site's page)
   * is ignored, not refused: the email and password are what these routes check, and a client
   * left holding a dead token must still be able to log in or join as a newcomer.
   */
  const maybeAuthenticate = async (request: FastifyRequest) => {
    try {
      if (credentialFrom(request)) await app.authenticate(request)
    } catch (err) {
      const foreignCookie = err instanceof AppError && err.code === 'ORIGIN_NOT_ALLOWED'
      if (!(err instanceof UnauthorizedError) && !foreignCookie) throw err
    }
  }

  app.post(
    '/api/user/register',
    {
      onRequest: maybeAuthenticate,
      schema: {
        operationId: 'registerUser',
        tags,
        description:
          'Join a campaign (same service as the `user.register` action). A repeat join of an existing email is ' +
          'idempotent for the person themself: with their password, with their own user token, or (an account ' +
          'without a password) from the guest session their join upgraded. Anyone else, and a join that would set ' +
          'a password on an account without one, gets 409 EMAIL_TAKEN (nothing of the person in it). Password ' +
          'guesses here, and passwords sent for an account without one, count against the login rate limit. A ' +
          'join that sets a new account’s password costs a hash: 30 per client network (IPv4 address, IPv6 /64) ' +
          'per minute, then 429 RATE_LIMITED with Retry-After (joins without a password are not counted).',
        body: RegisterBody,
        response: { 200: AuthResponse, 201: AuthResponse, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const { campaign: slug, ...input } = request.body as RegisterPayload & { campaign: string }
      const campaign = await campaigns.get(slug)
      assertActionAllowed(campaign, 'registration')
      const result = await users.register(campaign, input, callerOf(request))
      return reply.status(result.created ? 201 : 200).send(result)
    },
  )

  app.post(
    '/api/auth/login',
    {
      onRequest: maybeAuthenticate,
      schema: {
        operationId: 'login',
        tags,
        description:
          'Log in with email and password. Rate-limited (429 with Retry-After, the same whichever limit): ' +
          '30 attempts per client network (IPv4 address, IPv6 /64), 5 per email from one network (a ' +
          'success resets that network’s count) and 100 per email from all networks but those the email ' +
          'logged in from in the last 30 days, per 15 min.',
        body: LoginBody,
        response: { 200: AuthResponse, ...errors(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const body = request.body as LoginBody
      const campaign = body.campaign ? await campaigns.get(body.campaign) : undefined
      return users.login(body, { ...callerOf(request), campaign })
    },
  )

  app.post(
    '/api/auth/refresh',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'refreshToken',
        tags,
        security: [{ bearerAuth: [] }],
        description:
          'Renew a person’s token before it expires: send it as `Authorization: Bearer` (no body). The answer ' +
          'has login’s shape, with a new token of the same session, a fresh `expires_at` (SESSION_TTL_SECONDS ' +
          'from now) and the role the person holds now (read from their account, not copied from the old ' +
          'token). The old token keeps working until its own expiry; a logout with either ends both. A token ' +
          'expired is 401 `TOKEN_EXPIRED`, malformed or badly signed 401 `INVALID_TOKEN`, logged out, cut ' +
          'off (log out everywhere, a lowered role) or of an erased person 401 `TOKEN_REVOKED`, on every ' +
          'node at once. A session older than SESSION_MAX_AGE_SECONDS (default 30 days since the join or login, ' +
          'the token’s `auth_time`, which a refresh keeps; a token without one counts from its `iat`) is 401 ' +
          '`SESSION_EXPIRED`: log in again; no refreshed token expires past that age. ' +
          'A guest session token or an API key is 403 `USER_TOKEN_REQUIRED` (a guest gets a ' +
          'new session from `POST /api/session`, or joins or logs in). Rate-limited (429 `RATE_LIMITED` ' +
          'with Retry-After): 30 refreshes per person and 300 per client network (IPv4 address, IPv6 /64) ' +
          'per 15 min.',
        response: { 200: AuthResponse, ...errors(401, 403, 429) },
      },
    },
    async (request) => users.refresh(request.principal!, callerOf(request)),
  )

  app.get(
    '/api/auth/me',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'whoAmI',
        tags,
        security: SecuredBy,
        description:
          'The caller as the server sees them: `kind` (guest `session`, `user` or `apikey`), ids, the roles it ' +
          'honours (the same in every campaign), when the token expires and, for a person’s own token only, ' +
          'their profile (email included) and the campaigns they joined. Nothing of anyone else. A token ' +
          'logged out, or of a person erased, is 401 `TOKEN_REVOKED`; no credential is 401. Not cached ' +
          '(`Cache-Control: no-store`).',
        response: { 200: MeResponse, ...errors(401, 403) },
      },
    },
    async (request, reply) => {
      const me = await users.me(request.principal!)
      return reply.header('cache-control', 'no-store').send(me)
    },
  )

  app.patch(
    '/api/auth/me',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'updateMe',
        tags,
        security: SecuredBy,
        description:
          'A person changes their own profile, by their own token: `display_name` (trimmed; the leaderboard and ' +
          'milestone announcements show it from then on) and `locale` (the language of their mails and ' +
          'notifications, stored in BCP 47 case; null for English). At least one; nothing else (an address is ' +
          'not changed here). Answers as `GET /api/auth/me`. A guest session or an API key: 403 ' +
          '`PERSON_REQUIRED`; a token logged out or of a person erased: 401 `TOKEN_REVOKED`.',
        body: UpdateMeBody,
        response: { 200: MeResponse, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const me = await users.updateMe(request.principal!, request.body as UpdateMeBody)
      return reply.header('cache-control', 'no-store').send(me)
    },
  )

  app.post(
    '/api/auth/password',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'changePassword',
        tags,
        security: SecuredBy,
        description:
          'A person signed in changes their password: `current_password` (whoever holds their session does ' +
          'not know it) and the new `password`, under the join’s strength rule (400 `WEAK_PASSWORD`, a ' +
          '`details` entry per problem). Every session of theirs ends as with `POST /api/auth/logout/all`, ' +
          'this one too, and reset links sent before stop working; the answer is a login’s, a token of a new ' +
          'session, and a notice is mailed to the address (when the server sends mail). A wrong current ' +
          'password: 403 `WRONG_PASSWORD`, counted against the login rate limit as a login’s guess is; an ' +
          'account without a password: 409 `PASSWORD_NOT_SET` (one is set with a mailed link, ' +
          '`POST /api/auth/password/forgot`); a guest session or an API key: 403 `PERSON_REQUIRED`. ' +
          '10 changes per person per hour, then 429 `RATE_LIMITED` with Retry-After.',
        body: ChangePasswordBody,
        response: { 200: AuthResponse, ...errors(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const body = request.body as ChangePasswordBody
      const result = await users.changePassword(request.principal!, body, callerOf(request))
      return reply.header('cache-control', 'no-store').send(result)
    },
  )

  for (const all of [false, true]) {
    app.post(
      all ? '/api/auth/logout/all' : '/api/auth/logout',
      {
        onRequest: app.authenticate,
        schema: {
          operationId: all ? 'logoutEverywhere' : 'logout',
          tags,
          security: SecuredBy,
          description: all
            ? 'Log out everywhere: every user token of the caller issued before now stops working (401 ' +
              'TOKEN_REVOKED), this one included, and so does every session they joined or logged in from ' +
              '(its guest tokens too) but one another person also joined from. Log in again for a new token.'
            : "End the caller's session: every token of it, user and guest alike, stops working (401 " +
              'TOKEN_REVOKED) on every node within 10 s, and its open sockets close at their next re-check. ' +
              'Two people who joined from one browser share its session: it ends for both. An account ' +
              'without a password cannot log in again afterwards. API keys: 403 NOT_A_SESSION.',
          response: { 200: LogoutResponse, ...errors(401, 403) },
        },
      },
      async (request) => users.logout(request.principal!, { all }),
    )
  }

  app.delete(
    '/api/user/:id',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'eraseUser',
        tags,
        security: SecuredBy,
        description:
          'Erase a person (themself or an admin): personal data is removed from the user, from their analytics ' +
          'events and from every module that registered an erasure hook. Counters stay. Their user tokens and the ' +
          'guest sessions they joined from stop working (401 TOKEN_REVOKED), and their sockets close (at the ' +
          "gateway's next re-check). Erasing an erased person answers as the first time did (its `erased_at`) " +
          'and erases again whatever reached their identity since. With Redis unreachable (the realtime replay ' +
          'history is kept there) nothing is erased: 503 `REDIS_UNAVAILABLE` with `Retry-After`; retry.',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: EraseResponse, ...errors(401, 403, 404, 503) },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      // A person belongs to no single campaign: erasing someone else is for a key of every campaign.
      assertUnscoped(request.principal)
      const erased = await users.erase(id, request.principal!)
      return { id: erased.id, status: 'erased' as const, erased_at: erased.erased_at.toISOString() }
    },
  )

  app.put(
    '/api/user/:id/role',
    {
      onRequest: app.requireRole('admin'),
      schema: {
        operationId: 'setUserRole',
        tags,
        security: SecuredBy,
        description:
          'Give a person a role (admin: an admin key or an admin person). `editor` and `admin` may use the ' +
          'console and every route of that role, as a key of that role may; their tokens carry the role from ' +
          'their next login. Lowering a role also cuts off every token of the person issued before ' +
          '(`tokens_valid_after`): an old token is 401 `TOKEN_REVOKED` everywhere and their sockets close. ' +
          'The last admin person cannot lower their own role (409 `LAST_ADMIN`). An unknown or erased ' +
          'person is 404 `USER_NOT_FOUND`. Each change is logged (who, whom, from and to).',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: SetRoleBody,
        response: { 200: SetRoleResponse, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const { role } = request.body as SetRoleBody
      const actor = request.principal!
      const changed = await users.setRole(id, role, actor)
      request.log.info(
        {
          audit: 'user.role',
          actor: actor.user_id,
          actor_kind: actor.kind,
          user_id: changed.id,
          role: changed.role,
          previous_role: changed.previous_role,
        },
        'person role changed',
      )
      return {
        id: changed.id,
        role: changed.role,
        previous_role: changed.previous_role,
        ...(changed.tokens_valid_after
          ? { tokens_valid_after: changed.tokens_valid_after.toISOString() }
          : {}),
      }
    },
  )
}
